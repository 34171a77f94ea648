"""Shared fixtures: a migrated database file in tmp_path and isolated user folders."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from commjobs_tui.db.store import Store, upgrade_database

DATA_DIR = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def isolated_user_dirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Point every platformdirs folder and the environment away from the real user."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local/share"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local/state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name in list(__import__("os").environ):
        if name.startswith("COMMJOBS_"):
            monkeypatch.delenv(name, raising=False)
    yield


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "commjobs.db"
    upgrade_database(path)
    return path


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[Store]:
    store = Store(db_path)
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
def npsp_sample(tmp_path: Path) -> Path:
    """A copy of the NPSP household export (Windows-1252, one row per gift)."""
    target = tmp_path / "npsp_household_sample.csv"
    target.write_bytes((DATA_DIR / "npsp_household_sample.csv").read_bytes())
    return target
