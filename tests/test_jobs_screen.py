"""The job list: columns, filters, sorting, marks, freezing and error states."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from textual.widgets import Select, Static

from commjobs_tui.core.jobs import JOB_STATUSES, JobSummary
from commjobs_tui.screens.help import HelpScreen
from commjobs_tui.screens.jobs import COLUMNS, JobsScreen
from commjobs_tui.widgets.job_status import JOB_STATUS_LOOKS
from tests import tui_helpers
from tests.jobs_fixtures import (
    SIZE,
    jobs_db,
    make_jobs_app,
    move_to_job,
    open_jobs,
    rows_by_id,
    run_sql,
    seed_jobs,
    settle_jobs,
    shown_ids,
    status_of,
    wait_until,
)

empty_db = tui_helpers.empty_db
__all__ = ["empty_db", "jobs_db"]

# Newest first, the default sort.
IDS_BY_CREATED = [3, 5, 4, 7, 6, 1, 2]


def status_line(screen: JobsScreen) -> str:
    return str(screen.query_one("#jobs-status-line", Static).render())


def header_labels(screen: JobsScreen) -> list[str]:
    return [column.label.plain for column in screen.table.columns.values()]


async def test_table_shows_every_status(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        rows = rows_by_id(screen)
        assert list(rows) == IDS_BY_CREATED
        statuses = {row[2] for row in rows.values()}
        assert statuses == {
            f"{JOB_STATUS_LOOKS[status].symbol} {status}" for status in JOB_STATUSES
        }
        assert rows[3][1] == "Gala invitations"
        assert rows[3][3] == "██░░░ 3/6"
        assert rows[3][5] == "run 2m10s"
        assert rows[3][6] == "today 09:20"
        assert rows[3][7] == "openai/gpt-4.1-mini"
        assert rows[2][4] == "2"
        assert rows[2][5] == "12m"
        assert rows[2][6] == "2024-05-11"
        assert rows[1][5] == "4m05s"
        assert rows[5][7] == "offline"
        assert rows[6][1] == "Board thank-you [draft]"
        assert header_labels(screen) == [
            "ID",
            "Job",
            "Status",
            "Progress",
            "Failed",
            "Time",
            "Created ▼",
            "Model",
        ]
        assert "7 jobs · sorted by Created ▼" in status_line(screen)
        assert "live" in status_line(screen)


def test_status_symbols_are_distinct() -> None:
    symbols = [look.symbol for look in JOB_STATUS_LOOKS.values()]
    styles = [look.style for look in JOB_STATUS_LOOKS.values()]
    assert set(JOB_STATUS_LOOKS) == set(JOB_STATUSES)
    assert len(set(symbols)) == len(symbols)
    assert len(set(styles)) == len(styles)


async def test_empty_database_names_start_key(empty_db: Path) -> None:
    app = make_jobs_app(empty_db, first_section="donors")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        empty = screen.query_one("#jobs-empty", Static)
        assert empty.display
        assert not screen.table.display
        assert "No communication jobs yet. Press 2" in str(empty.render())
        await pilot.press("2")
        await settle_jobs(pilot)
        assert app.current_mode == "communicate"


async def test_name_filter_narrows_rows(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        await pilot.press("slash", *"thank")
        await settle_jobs(pilot)
        assert shown_ids(screen) == [6, 1]
        assert "2 of 7 jobs" in status_line(screen)
        await pilot.press("enter")
        await settle_jobs(pilot)
        assert screen.table.has_focus


async def test_filter_without_match_explains(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        await pilot.press("slash", *"zzz")
        await settle_jobs(pilot)
        empty = screen.query_one("#jobs-empty", Static)
        assert empty.display
        assert "No jobs named like “zzz”" in str(empty.render())
        assert "Press escape to clear the filters" in str(empty.render())
        await pilot.press("escape")
        await settle_jobs(pilot)
        assert shown_ids(screen) == IDS_BY_CREATED
        assert screen.table.has_focus


async def test_status_key_cycles_filter(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        await pilot.press("f")
        await settle_jobs(pilot)
        assert shown_ids(screen) == [3]
        select: Select[str] = screen.query_one("#jobs-status", Select)
        assert select.value == "running"
        await pilot.press("f")
        await settle_jobs(pilot)
        assert shown_ids(screen) == [2]
        assert select.value == "failed"
        await pilot.press("escape")
        await settle_jobs(pilot)
        assert shown_ids(screen) == IDS_BY_CREATED
        assert select.value == "all"


async def test_status_select_filters(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        select: Select[str] = screen.query_one("#jobs-status", Select)
        select.value = "failed"
        await settle_jobs(pilot)
        assert shown_ids(screen) == [2]
        assert screen.status_filter == "failed"
        assert "1 of 7 jobs" in status_line(screen)
        select.value = "completed"
        await pilot.press("slash", *"gala")
        await settle_jobs(pilot)
        assert shown_ids(screen) == []
        empty = str(screen.query_one("#jobs-empty", Static).render())
        assert "named like “gala” and with status completed" in empty


async def test_sort_keys_and_indicator(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        # s steps from Created to Model, then wraps to ID.
        await pilot.press("s")
        await settle_jobs(pilot)
        assert screen.sort == "model"
        assert "Model ▲" in header_labels(screen)
        await pilot.press("s")
        await settle_jobs(pilot)
        assert screen.sort == "id"
        assert shown_ids(screen) == [7, 6, 5, 4, 3, 2, 1]
        assert header_labels(screen)[0] == "ID ▼"
        await pilot.press("S")
        await settle_jobs(pilot)
        assert shown_ids(screen) == [1, 2, 3, 4, 5, 6, 7]
        assert header_labels(screen)[0] == "ID ▲"
        assert "sorted by ID ▲" in status_line(screen)
        screen.set_sort("name", False)
        await settle_jobs(pilot)
        names = [row[1] for row in rows_by_id(screen).values()]
        assert names == sorted(names, key=str.lower)


async def test_header_click_sorts(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        failed_x = sum(column.width + 2 for column in COLUMNS[:4]) + 2
        assert await pilot.click("#jobs-table", offset=(failed_x, 0))
        await settle_jobs(pilot)
        assert screen.sort == "failed"
        assert screen.descending is True
        assert shown_ids(screen)[:2] == [2, 7]
        assert await pilot.click("#jobs-table", offset=(failed_x, 0))
        await settle_jobs(pilot)
        assert screen.descending is False


async def test_sort_puts_empty_values_last(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        # Only finished jobs have a duration; the rest have none.
        finished = {1, 2, 6}
        for descending in (True, False):
            screen.set_sort("duration", descending)
            await settle_jobs(pilot)
            ids = shown_ids(screen)
            assert len(ids) == 7
            assert set(ids[:3]) == finished
            expected = [2, 1, 6] if descending else [6, 1, 2]
            assert ids[:3] == expected


async def test_choices_remembered_across_runs(jobs_db: Path, tmp_path: Path) -> None:
    state = tmp_path / "ui.json"
    first = make_jobs_app(jobs_db, ui_state_path=state)
    async with first.run_test(size=SIZE) as pilot:
        await open_jobs(pilot)
        await pilot.press("s", "s", "S", "f", "f")
        await pilot.press("slash", *"year")
        await settle_jobs(pilot)
    saved = json.loads(state.read_text(encoding="utf-8"))
    assert saved["jobs.sort"] == "id"
    assert saved["jobs.descending"] is False
    assert saved["jobs.status"] == "failed"
    assert saved["jobs.filter"] == "year"

    second = make_jobs_app(jobs_db, ui_state_path=state)
    async with second.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        assert screen.sort == "id"
        assert screen.descending is False
        assert screen.status_filter == "failed"
        assert screen.filter_input.value == "year"
        assert shown_ids(screen) == [2]


async def test_marks_and_status_line(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        await pilot.press("space", "space")
        await settle_jobs(pilot)
        assert screen.marked == {3, 5}
        rows = rows_by_id(screen)
        assert rows[3][0].startswith("✓")
        assert rows[5][0].startswith("✓")
        assert not rows[4][0].startswith("✓")
        assert "2 marked" in status_line(screen)
        # The cursor moved down with each mark.
        assert screen.highlighted_job_id() == 4
        await pilot.press("up", "space")
        await settle_jobs(pilot)
        assert screen.marked == {3}
        await pilot.press("a")
        await settle_jobs(pilot)
        assert screen.marked == set(IDS_BY_CREATED)
        assert "7 marked" in status_line(screen)
        await pilot.press("u")
        await settle_jobs(pilot)
        assert screen.marked == set()
        assert "marked" not in status_line(screen)


async def test_mark_all_takes_shown_rows(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        await pilot.press("slash", *"thank", "enter")
        await settle_jobs(pilot)
        await pilot.press("a")
        await settle_jobs(pilot)
        assert screen.marked == {1, 6}
        await pilot.press("escape")
        await settle_jobs(pilot)
        assert "2 marked" in status_line(screen)
        await pilot.press("f")
        await settle_jobs(pilot)
        assert "(2 hidden by the filter)" in status_line(screen)


async def test_marks_survive_reload(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        move_to_job(screen, 4)
        await pilot.press("space")
        await settle_jobs(pilot)
        run_sql(jobs_db, "UPDATE email_generation_sessions SET job_name='x' WHERE id=1")
        await wait_until(
            pilot, lambda: rows_by_id(screen)[1][1] == "x", what="the rename shows"
        )
        assert screen.marked == {4}
        assert rows_by_id(screen)[4][0].startswith("✓")


async def test_cursor_follows_job_on_reload(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        move_to_job(screen, 7)
        await settle_jobs(pilot)
        row_before = screen.table.cursor_row
        # A newer job appears at the top, above the cursor.
        seed_more = (
            "INSERT INTO email_generation_sessions (job_name, instruction, "
            "refinement_history, preview_donor_ids, selection, status, total_count, "
            "completed_count, failed_count, skipped_count, provider, model, "
            "prompt_tokens, completion_tokens, created_at, updated_at) VALUES "
            "('Newest', 'x', '[]', '[]', '{}', 'pending', 0, 0, 0, 0, 'offline', "
            "'offline', 0, 0, '2025-06-15 09:29:00', '2025-06-15 09:29:00')"
        )
        run_sql(jobs_db, seed_more)
        await wait_until(
            pilot, lambda: len(shown_ids(screen)) == 8, what="the new job shows"
        )
        assert shown_ids(screen)[0] == 8
        assert screen.highlighted_job_id() == 7
        assert screen.table.cursor_row == row_before + 1


async def test_freeze_holds_rows(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        await pilot.press("z")
        await settle_jobs(pilot)
        assert screen.frozen is True
        assert "FROZEN" in status_line(screen)
        run_sql(
            jobs_db, "UPDATE email_generation_sessions SET status='paused' WHERE id=5"
        )
        await wait_until(
            pilot, lambda: screen.missed_updates, what="an update arrives while frozen"
        )
        assert status_of(screen, 5) == "○ pending"
        await pilot.press("z")
        await settle_jobs(pilot)
        assert screen.frozen is False
        assert "FROZEN" not in status_line(screen)
        assert status_of(screen, 5) == "‖ paused"


async def test_database_error_keeps_screen(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        run_sql(jobs_db, "ALTER TABLE email_generation_sessions RENAME TO gone")
        await wait_until(
            pilot, lambda: screen.load_error is not None, what="the error shows"
        )
        assert "Cannot read the jobs from" in status_line(screen)
        assert "no such table" in status_line(screen)
        # The rows read before stay, and keys still work.
        assert shown_ids(screen) == IDS_BY_CREATED
        await pilot.press("f")
        await settle_jobs(pilot)
        assert app.is_running
        run_sql(jobs_db, "ALTER TABLE gone RENAME TO email_generation_sessions")
        await wait_until(
            pilot, lambda: screen.load_error is None, what="the error clears"
        )
        assert shown_ids(screen) == [3]


async def test_help_lists_job_keys(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_jobs(pilot)
        await pilot.press("question_mark")
        await settle_jobs(pilot)
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        assert help_screen.heading == "Communication Jobs"
        descriptions = {row.description for row in help_screen.rows}
        for description in (
            "Open the highlighted job",
            "Filter jobs by name as you type",
            "Sort by the next column",
            "Reverse the sort order",
            "Mark or unmark the highlighted job for a bulk action",
            "Mark every job shown",
            "Clear every mark",
            "Delete, retry or cancel the marked jobs",
            "Retry the failed and unfinished emails of the job",
            "Discard every email of the job and draft them all again",
            "Cancel the job",
            "Pause a running job, or resume a paused or interrupted one",
            "Delete the job and all its emails",
            "Export the job's completed emails to a file",
            "Freeze or resume live updates of the table",
            "Start a new job in the Communicate section",
        ):
            assert description in descriptions


async def test_new_job_key_opens_communicate(db_path: Path) -> None:
    seed_jobs(db_path)
    app = make_jobs_app(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_jobs(pilot)
        await pilot.press("n")
        await settle_jobs(pilot)
        assert app.current_mode == "communicate"


async def test_live_reload_waits_for_load(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        service = app.context.jobs
        list_jobs = service.list_jobs
        gate = asyncio.Event()
        calls = 0

        async def slow_first_list(**options: Any) -> list[JobSummary]:
            # The first load reads the jobs, then waits, so it returns rows
            # from before the rename below.
            nonlocal calls
            calls += 1
            jobs = await list_jobs(**options)
            if calls == 1:
                await gate.wait()
            return jobs

        service.list_jobs = slow_first_list  # type: ignore[method-assign]
        screen.reload()
        await pilot.pause()
        first_load = screen.load_worker
        assert first_load is not None
        while calls == 0:
            await pilot.pause()
        run_sql(jobs_db, "UPDATE email_generation_sessions SET job_name='Renamed'")
        screen.reload_when_idle()
        assert screen.load_worker is first_load
        assert screen.reload_pending
        gate.set()
        await settle_jobs(pilot)
        # The app may reload once more when it notices the rename itself.
        assert calls >= 2
        assert {row[1] for row in rows_by_id(screen).values()} == {"Renamed"}
