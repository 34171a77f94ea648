"""Package rules: the core never imports textual, and importing touches nothing."""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import commjobs_tui

REPO = Path(__file__).resolve().parent.parent
CORE_PACKAGES = ("commjobs_tui.core", "commjobs_tui.db", "commjobs_tui.cli")


def all_modules() -> list[str]:
    names = ["commjobs_tui"]
    for info in pkgutil.walk_packages(commjobs_tui.__path__, "commjobs_tui."):
        if info.name.startswith("commjobs_tui.migrations") or info.name.endswith(
            "__main__"
        ):
            continue
        names.append(info.name)
    return names


def run_python(code: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "PYTHONPATH": str(REPO),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CACHE_HOME": str(home / "cache"),
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_core_never_imports_textual(tmp_path: Path) -> None:
    core = [m for m in all_modules() if m.startswith(CORE_PACKAGES)]
    assert len(core) > 10
    code = (
        "import importlib, sys\n"
        f"for name in {core!r}:\n"
        "    importlib.import_module(name)\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'textual')\n"
        "print(','.join(loaded))\n"
    )
    result = run_python(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_import_creates_no_files(tmp_path: Path) -> None:
    home = tmp_path / "fresh-home"
    home.mkdir()
    code = (
        "import importlib\n"
        f"for name in {all_modules()!r}:\n"
        "    importlib.import_module(name)\n"
    )
    result = run_python(code, home)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in home.iterdir()) == []
