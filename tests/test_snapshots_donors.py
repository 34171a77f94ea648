"""Snapshots of the Donors screen, donor details, import dialog and help.

Update them with `pytest tests/test_snapshots_donors.py --snapshot-update` and look
at the SVG files under tests/__snapshots__/ before committing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests import tui_helpers
from tests.tui_helpers import make_app, seed_communication, seed_donors, settle

seeded_db = tui_helpers.seeded_db

SIZES = [pytest.param((120, 40), id="120x40"), pytest.param((80, 24), id="80x24")]
JULIA_ROW = 2

Compare = Callable[..., bool]


async def show_list(pilot: Pilot[Any]) -> None:
    await settle(pilot)


async def show_detail(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press(*["down"] * JULIA_ROW, "enter")
    await settle(pilot)


async def show_import(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("i")
    await settle(pilot)


async def show_help(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("question_mark")
    await settle(pilot)


def compare(
    snap_compare: Compare,
    db_path: Path,
    size: tuple[int, int],
    run_before: Callable[[Pilot[Any]], Awaitable[None]],
) -> bool:
    return snap_compare(make_app(db_path), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_donor_list_snapshot(
    snap_compare: Compare, seeded_db: Path, size: tuple[int, int]
) -> None:
    assert compare(snap_compare, seeded_db, size, show_list)


@pytest.mark.parametrize("size", SIZES)
def test_donor_detail_snapshot(
    snap_compare: Compare, db_path: Path, size: tuple[int, int]
) -> None:
    ids = seed_donors(db_path)
    seed_communication(db_path, ids["C-1001"])
    assert compare(snap_compare, db_path, size, show_detail)


@pytest.mark.parametrize("size", SIZES)
def test_import_dialog_snapshot(
    snap_compare: Compare, seeded_db: Path, size: tuple[int, int]
) -> None:
    assert compare(snap_compare, seeded_db, size, show_import)


@pytest.mark.parametrize("size", SIZES)
def test_help_snapshot(
    snap_compare: Compare, seeded_db: Path, size: tuple[int, int]
) -> None:
    assert compare(snap_compare, seeded_db, size, show_help)
