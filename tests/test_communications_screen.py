"""The Communications section: thread list, filters, one thread's messages."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from commjobs_tui.app import CommjobsApp
from commjobs_tui.core.communications import mark_job_sent, record_export
from commjobs_tui.db.store import Store
from commjobs_tui.screens import communications as communications_module
from commjobs_tui.screens.communications import (
    CELL_PADDING,
    COLUMNS,
    CommunicationsScreen,
    ThreadScreen,
    column_widths,
    visible_columns,
)
from commjobs_tui.screens.help import HelpScreen
from tests import tui_helpers
from tests.jobdata import add_donor, add_email, add_job
from tests.tui_helpers import make_app, seed_donors, settle

empty_db = tui_helpers.empty_db

WIDE = (120, 40)
NARROW = (80, 24)
SPRING_EXPORTED = dt.datetime(2025, 5, 19, 16, 0)
SPRING_SENT = dt.datetime(2025, 5, 20, 14, 5)
LETTERS_SENT = dt.datetime(2025, 6, 1, 11, 0)
GALA_EXPORTED = dt.datetime(2025, 6, 10, 9, 15)


async def _seed_threads(db_path: Path, donors: dict[str, int]) -> None:
    store = Store(db_path)
    try:
        spring = await add_job(store, "Spring thank-you 2025")
        for external_id in ("C-1001", "C-1002", "A-2001", "C-1006"):
            await add_email(
                store,
                spring,
                donors[external_id],
                subject="Thank you for your spring gift",
                body="Dear friend,\n\nYour spring gift paid for [b]two[/b] "
                "weeks of meals.\n\nWith thanks,\nThe team\n",
            )
        await record_export(store, spring, fmt="csv", at=SPRING_EXPORTED)
        await mark_job_sent(store, spring, at=SPRING_SENT)

        letters = await add_job(store, "Year-end letters")
        await add_email(
            store, letters, donors["C-1003"], subject="A note for the year end"
        )
        await mark_job_sent(store, letters, channel="letter", at=LETTERS_SENT)

        gala = await add_job(store, "Gala invitations")
        await add_email(store, gala, donors["C-1007"], subject="Join us at the gala")
        await record_export(store, gala, fmt="eml", at=GALA_EXPORTED)
    finally:
        await store.close()


def seed_threads(db_path: Path) -> dict[str, int]:
    """Add the sample donors and three jobs whose emails were exported or sent.

    Julia Morrison's thread has an export and an email message. The newest
    thread is Priya Raman's export, the oldest ones are the spring emails.
    """
    donors = seed_donors(db_path)
    asyncio.run(_seed_threads(db_path, donors))
    return donors


@pytest.fixture
def threads_db(db_path: Path) -> Path:
    seed_threads(db_path)
    return db_path


def communications_screen(app: CommjobsApp) -> CommunicationsScreen:
    screen = app.screen
    assert isinstance(screen, CommunicationsScreen)
    return screen


def donor_column(app: CommjobsApp) -> list[str]:
    table = app.screen.query_one("#thread-table", DataTable)
    return [str(table.get_row_at(index)[0]) for index in range(table.row_count)]


def static_text(app: CommjobsApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def open_section(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("4")
    await settle(pilot)


async def test_threads_newest_first(threads_db: Path) -> None:
    app = make_app(threads_db)
    async with app.run_test(size=WIDE) as pilot:
        await open_section(pilot)

        assert donor_column(app) == [
            "Priya Raman",
            "José Núñez",
            "[b]Robin[/b] Ortiz [Jr]",
            "Harbor Light Foundation",
            "Nicole and Samuel Chapman",
            "Julia Morrison",
        ]
        status = static_text(app, "#communications-status")
        assert "6 threads" in status
        assert "channel: all" in status
        assert not app.screen.query_one("#communications-empty").display


async def test_text_filter_and_clear(threads_db: Path) -> None:
    app = make_app(threads_db)
    async with app.run_test(size=WIDE) as pilot:
        await open_section(pilot)

        await pilot.press("slash", *"morrison")
        await settle(pilot)
        assert donor_column(app) == ["Julia Morrison"]

        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.focused is app.screen.query_one("#thread-table")

        await pilot.press("escape")
        await settle(pilot)
        assert len(donor_column(app)) == 6
        assert isinstance(app.screen, CommunicationsScreen)


async def test_filter_matches_message_body(threads_db: Path) -> None:
    app = make_app(threads_db)
    async with app.run_test(size=WIDE) as pilot:
        await open_section(pilot)

        await pilot.press("slash", *"weeks of meals")
        await settle(pilot)

        assert len(donor_column(app)) == 4


async def test_channel_filter_cycles(threads_db: Path) -> None:
    app = make_app(threads_db)
    async with app.run_test(size=WIDE) as pilot:
        await open_section(pilot)

        await pilot.press("c")
        await settle(pilot)
        assert communications_screen(app).channel == "email"
        assert len(donor_column(app)) == 4

        await pilot.press("c")
        await settle(pilot)
        assert donor_column(app) == ["José Núñez"]
        assert "channel: letter" in static_text(app, "#communications-status")
        assert app.context.ui_state.get("communications.channel") == "letter"

        await pilot.press("c")
        await settle(pilot)
        assert donor_column(app) == []
        assert "on channel phone" in static_text(app, "#communications-empty")

        await pilot.press("c")
        await settle(pilot)
        assert len(donor_column(app)) == 5
        assert donor_column(app)[0] == "Priya Raman"

        await pilot.press("c")
        await settle(pilot)
        assert communications_screen(app).channel is None
        assert len(donor_column(app)) == 6


async def test_enter_opens_thread_and_back(threads_db: Path) -> None:
    app = make_app(threads_db)
    async with app.run_test(size=WIDE) as pilot:
        await open_section(pilot)
        await pilot.press("slash", *"julia")
        await settle(pilot)
        await pilot.press("enter", "enter")
        await settle(pilot)

        screen = app.screen
        assert isinstance(screen, ThreadScreen)
        messages = [str(block.render()) for block in screen.query(".thread-message")]
        assert len(messages) == 2
        assert "export" in messages[0]
        assert "2025-05-19 16:00 UTC" in messages[0]
        assert "email" in messages[1]
        assert "job: Spring thank-you 2025" in messages[1]
        assert "Subject: Thank you for your spring gift" in messages[1]
        assert "[b]two[/b] weeks of meals" in messages[1]
        assert "julia.morrison@example.org" in static_text(app, "#thread-donor")

        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, CommunicationsScreen)
        assert donor_column(app) == ["Julia Morrison"]


async def test_empty_state_message(empty_db: Path) -> None:
    app = make_app(empty_db)
    async with app.run_test(size=NARROW) as pilot:
        await open_section(pilot)

        assert not app.screen.query_one("#thread-table").display
        assert static_text(app, "#communications-empty") == (
            "No communications yet: mark a job's emails as sent to record them here."
        )


async def test_no_match_message(threads_db: Path) -> None:
    app = make_app(threads_db)
    async with app.run_test(size=WIDE) as pilot:
        await open_section(pilot)
        await pilot.press("slash", *"nobody")
        await settle(pilot)

        message = static_text(app, "#communications-empty")
        assert message.startswith("No threads match “nobody”.")
        assert app.screen.query_one("#communications-empty").display


async def test_returning_reloads_threads(threads_db: Path) -> None:
    app = make_app(threads_db)
    async with app.run_test(size=WIDE) as pilot:
        await open_section(pilot)
        await pilot.press("1")
        await settle(pilot)

        store = app.context.store
        job_id = await add_job(store, "Summer update")
        donor_id = await add_donor(store, "Maya", "Lind", "maya@example.org")
        await add_email(store, job_id, donor_id, subject="Summer news")
        await mark_job_sent(store, job_id, at=tui_helpers.FROZEN_NOW)
        await pilot.press("4")
        await settle(pilot)

        assert donor_column(app)[0] == "Maya Lind"
        assert len(donor_column(app)) == 7


async def test_thread_limit_shown_in_status(
    threads_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(communications_module, "THREAD_LIMIT", 4)
    app = make_app(threads_db)
    async with app.run_test(size=WIDE) as pilot:
        await open_section(pilot)

        assert len(donor_column(app)) == 4
        assert static_text(app, "#communications-status").startswith(
            "Showing the 4 newest threads, filter to find older ones"
        )


async def test_bindings_listed_in_help(threads_db: Path) -> None:
    app = make_app(threads_db)
    async with app.run_test(size=WIDE) as pilot:
        await open_section(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one("#help-table", DataTable)
        descriptions = {
            str(table.get_row_at(index)[2]) for index in range(table.row_count)
        }
        for expected in ("Filter", "Channel", "Reload", "Open thread"):
            assert expected in descriptions


@pytest.mark.parametrize("available", [40, 56, 73, 96, 140])
def test_columns_fit_width(available: int) -> None:
    columns = visible_columns(available)
    widths = column_widths(columns, available)

    used = sum(widths.values()) + CELL_PADDING * len(columns)
    assert set(widths) == {column.key for column in columns}
    if available >= 73:
        assert used <= available
    assert ("email" in widths) == (available >= 96)
    assert len(columns) in (len(COLUMNS), len(COLUMNS) - 1)


def snapshot_before(*keys: str) -> Callable[[Pilot[Any]], Any]:
    async def run_before(pilot: Pilot[Any]) -> None:
        await open_section(pilot)
        if keys:
            await pilot.press(*keys)
            await settle(pilot)

    return run_before


def test_snapshot_list_wide(threads_db: Path, snap_compare: Any) -> None:
    assert snap_compare(
        make_app(threads_db), terminal_size=WIDE, run_before=snapshot_before()
    )


def test_snapshot_list_narrow(threads_db: Path, snap_compare: Any) -> None:
    assert snap_compare(
        make_app(threads_db), terminal_size=NARROW, run_before=snapshot_before()
    )


def test_snapshot_thread_narrow(threads_db: Path, snap_compare: Any) -> None:
    assert snap_compare(
        make_app(threads_db),
        terminal_size=NARROW,
        run_before=snapshot_before(*["down"] * 5, "enter"),
    )


def test_snapshot_empty_narrow(empty_db: Path, snap_compare: Any) -> None:
    assert snap_compare(
        make_app(empty_db), terminal_size=NARROW, run_before=snapshot_before()
    )
