"""Snapshots of the four Communicate wizard steps and the template dialog.

Update them with `pytest tests/test_snapshots_wizard.py --snapshot-update` and
look at the SVG files under tests/__snapshots__/ before committing. The clock is
frozen and the provider is offline, so previews come out the same every run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import TextArea

from tests import tui_helpers
from tests.tui_helpers import make_app, settle

seeded_db = tui_helpers.seeded_db

SIZES = [pytest.param((120, 40), id="120x40"), pytest.param((80, 24), id="80x24")]
INSTRUCTION = "Invite each donor to renew their support."

Compare = Callable[..., bool]


async def settle_editor(pilot: Pilot[Any]) -> None:
    """Settle, with the editor's cursor blink off so snapshots are stable."""
    for editor in pilot.app.screen.query(TextArea):
        editor.cursor_blink = False
    await settle(pilot)


async def show_select(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("2")
    await settle(pilot)
    await pilot.press("s", "space")
    await settle(pilot)
    await pilot.press("escape", "a")
    await settle(pilot)
    # Mark one more donor by hand: the cursor stays on Harbor Light Foundation
    # when the segment goes off, and the next row is Julia Morrison.
    await pilot.press("s", "space")
    await settle(pilot)
    await pilot.press("escape", "down", "space")
    await settle(pilot)


async def show_name(pilot: Pilot[Any]) -> None:
    await show_select(pilot)
    await pilot.press("ctrl+n")
    await settle(pilot)


async def show_instructions(pilot: Pilot[Any]) -> None:
    await show_name(pilot)
    await pilot.press("enter")
    await settle_editor(pilot)
    pilot.app.screen.query_one("#instruction", TextArea).load_text(INSTRUCTION)
    await pilot.press("ctrl+r")
    await settle_editor(pilot)


async def show_templates(pilot: Pilot[Any]) -> None:
    await show_name(pilot)
    await pilot.press("enter")
    await settle_editor(pilot)
    await pilot.press("ctrl+t")
    await settle(pilot)


async def show_review(pilot: Pilot[Any]) -> None:
    await show_instructions(pilot)
    await pilot.press("ctrl+n")
    await settle(pilot)


def compare(
    snap_compare: Compare,
    db_path: Path,
    size: tuple[int, int],
    run_before: Callable[[Pilot[Any]], Awaitable[None]],
) -> bool:
    return snap_compare(make_app(db_path), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_select_step_snapshot(
    snap_compare: Compare, seeded_db: Path, size: tuple[int, int]
) -> None:
    assert compare(snap_compare, seeded_db, size, show_select)


@pytest.mark.parametrize("size", SIZES)
def test_name_step_snapshot(
    snap_compare: Compare, seeded_db: Path, size: tuple[int, int]
) -> None:
    assert compare(snap_compare, seeded_db, size, show_name)


@pytest.mark.parametrize("size", SIZES)
def test_instructions_step_snapshot(
    snap_compare: Compare, seeded_db: Path, size: tuple[int, int]
) -> None:
    assert compare(snap_compare, seeded_db, size, show_instructions)


@pytest.mark.parametrize("size", SIZES)
def test_template_dialog_snapshot(
    snap_compare: Compare, seeded_db: Path, size: tuple[int, int]
) -> None:
    assert compare(snap_compare, seeded_db, size, show_templates)


@pytest.mark.parametrize("size", SIZES)
def test_review_step_snapshot(
    snap_compare: Compare, seeded_db: Path, size: tuple[int, int]
) -> None:
    assert compare(snap_compare, seeded_db, size, show_review)
