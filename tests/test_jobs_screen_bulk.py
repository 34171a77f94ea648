"""Bulk actions on marked jobs: the menu, each action's dialog, and job ids."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from commjobs_tui.screens.job_actions import retry_block_reason
from commjobs_tui.screens.job_bulk import split_jobs
from commjobs_tui.screens.job_dialogs import BulkActionMenu, ConfirmDialog
from commjobs_tui.screens.jobs import JobsScreen
from tests import fakeapi
from tests.engine_helpers import fake_settings
from tests.jobs_fixtures import (
    SIZE,
    WAIT_SECONDS,
    dialog_text,
    finished_waiter,
    jobs_db,
    make_jobs_app,
    messages,
    move_to_job,
    open_jobs,
    rows_by_id,
    server,
    settle_jobs,
    status_of,
    wait_until,
)

__all__ = ["jobs_db", "server"]

MENU_ORDER = ("delete", "retry", "full_retry", "cancel")


async def mark_jobs(pilot: Pilot[Any], screen: JobsScreen, *job_ids: int) -> None:
    for job_id in job_ids:
        move_to_job(screen, job_id)
        await settle_jobs(pilot)
        await pilot.press("space")
    await settle_jobs(pilot)
    assert screen.marked == set(job_ids)


async def choose(pilot: Pilot[Any], action: str) -> None:
    """Open the bulk menu and pick `action` by moving down to it."""
    await pilot.press("b")
    await settle_jobs(pilot)
    assert isinstance(pilot.app.screen, BulkActionMenu)
    await pilot.press(*["down"] * MENU_ORDER.index(action), "enter")
    await settle_jobs(pilot)


async def test_bulk_without_marks_explains(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_jobs(pilot)
        await pilot.press("b")
        await settle_jobs(pilot)
        assert not isinstance(app.screen, BulkActionMenu)
        assert any("No jobs are marked" in m for m in messages(app))


async def test_bulk_menu_escape_does_nothing(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        await mark_jobs(pilot, screen, 1, 2)
        await pilot.press("b")
        await settle_jobs(pilot)
        menu = app.screen
        assert isinstance(menu, BulkActionMenu)
        assert [job.id for job in menu.jobs] == [1, 2]
        await pilot.press("escape")
        await settle_jobs(pilot)
        assert isinstance(app.screen, JobsScreen)
        assert await app.context.jobs.count_jobs() == 7


async def test_bulk_delete_confirm(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        await mark_jobs(pilot, screen, 1, 2)
        await choose(pilot, "delete")
        text = dialog_text(app)
        assert "Delete 2 jobs?" in text
        assert "“Spring thank-you 2025” (1) and “Year-end appeal” (2)" in text
        assert "10 generated emails will be permanently deleted." in text
        assert "running" not in text
        await pilot.press("y")
        await settle_jobs(pilot)
        assert set(rows_by_id(screen)) == {3, 4, 5, 6, 7}
        assert screen.marked == set()
        assert "Deleted 2 jobs and 12 emails." in messages(app)


async def test_bulk_delete_counts_running(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        await mark_jobs(pilot, screen, 3, 5)
        await choose(pilot, "delete")
        assert "1 of these is running and will be cancelled first." in dialog_text(app)
        await pilot.press("escape")
        await settle_jobs(pilot)
        assert await app.context.jobs.count_jobs() == 7
        assert screen.marked == {3, 5}


async def test_bulk_delete_names_few_jobs(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        await pilot.press("a")
        await settle_jobs(pilot)
        await choose(pilot, "delete")
        text = dialog_text(app)
        assert "Delete 7 jobs?" in text
        assert "and 2 more" in text
        assert "19 generated emails will be permanently deleted." in text
        await pilot.press("escape")
        await settle_jobs(pilot)
        assert len(rows_by_id(screen)) == 7


async def test_bulk_acts_on_ids_not_rows(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        await mark_jobs(pilot, screen, 6, 7)
        # Reversing the sort moves every row, and the marks stay with their jobs.
        await pilot.press("S")
        await settle_jobs(pilot)
        assert rows_by_id(screen)[6][0].startswith("✓")
        assert rows_by_id(screen)[7][0].startswith("✓")
        await choose(pilot, "delete")
        await pilot.press("y")
        await settle_jobs(pilot)
        assert set(rows_by_id(screen)) == {1, 2, 3, 4, 5}


async def test_bulk_cancel_splits_jobs(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        await mark_jobs(pilot, screen, 1, 3, 5)
        await choose(pilot, "cancel")
        text = dialog_text(app)
        assert "Cancel 2 jobs?" in text
        assert "1 of these is running in another commjobs process" in text
        assert (
            "Skipped, because they are finished: “Spring thank-you 2025” (1)." in text
        )
        await pilot.press("y")
        await settle_jobs(pilot)
        assert status_of(screen, 5) == "⊘ cancelled"
        job = await app.context.jobs.get_job(3)
        assert (job.status, job.requested_action) == ("running", "cancel")
        assert status_of(screen, 1) == "✔ completed"
        assert any("Cancelled 1 job. Asked another process" in m for m in messages(app))


async def test_bulk_cancel_nothing_applies(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        await mark_jobs(pilot, screen, 1, 2)
        await choose(pilot, "cancel")
        assert not isinstance(app.screen, ConfirmDialog)
        assert any(
            "None of the marked jobs can be cancelled" in m for m in messages(app)
        )


async def test_bulk_retry_runs_failed(
    jobs_db: Path, server: fakeapi.FakeChatServer
) -> None:
    app = make_jobs_app(jobs_db, fake_settings(server.base_url))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        await mark_jobs(pilot, screen, 1, 2, 7)
        await choose(pilot, "retry")
        text = dialog_text(app)
        assert "Retry failed emails of 2 jobs?" in text
        assert "5 failed or unfinished emails are drafted again." in text
        assert "“Spring thank-you 2025” (1)" in text
        done = [finished_waiter(app.context.runner, job_id) for job_id in (2, 7)]
        await pilot.press("y")
        await settle_jobs(pilot)
        for event in done:
            await asyncio.wait_for(event.wait(), WAIT_SECONDS)
        await wait_until(
            pilot,
            lambda: status_of(screen, 2) == status_of(screen, 7) == "✔ completed",
            what="both retried jobs complete",
        )
        assert len(server.chat_requests) == 5
        assert any("Retrying 2 jobs." in m for m in messages(app))


async def test_bulk_full_retry_counts_discards(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        await mark_jobs(pilot, screen, 1, 2, 3)
        await choose(pilot, "full_retry")
        text = dialog_text(app)
        assert "Full retry of 2 jobs?" in text
        assert "10 completed emails will be discarded." in text
        assert "Skipped, because they are running: “Gala invitations” (3)." in text
        await pilot.press("escape")
        await settle_jobs(pilot)
        assert status_of(screen, 1) == "✔ completed"
        assert status_of(screen, 2) == "✖ failed"


async def test_split_jobs_by_reason(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_jobs(pilot)
        jobs = await app.context.jobs.list_jobs(sort="id", descending=False)
        plan = split_jobs(jobs, retry_block_reason)
        assert [job.id for job in plan.eligible] == [2, 4, 5, 6, 7]
        assert [job.id for job in plan.skipped] == [1, 3]


async def test_bulk_escape_paths_change_nothing(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        await mark_jobs(pilot, screen, 2, 4, 5)
        for action in ("retry", "cancel"):
            await choose(pilot, action)
            assert isinstance(app.screen, ConfirmDialog), action
            await pilot.press("escape")
            await settle_jobs(pilot)
            assert isinstance(app.screen, JobsScreen), action
        assert status_of(screen, 2) == "✖ failed"
        assert status_of(screen, 4) == "‖ paused"
        assert status_of(screen, 5) == "○ pending"
        assert screen.marked == {2, 4, 5}


async def test_bulk_full_retry_confirm(
    jobs_db: Path, server: fakeapi.FakeChatServer
) -> None:
    app = make_jobs_app(jobs_db, fake_settings(server.base_url))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        await mark_jobs(pilot, screen, 1, 7)
        await choose(pilot, "full_retry")
        assert "9 completed emails will be discarded." in dialog_text(app)
        done = [finished_waiter(app.context.runner, job_id) for job_id in (1, 7)]
        await pilot.press("y")
        await settle_jobs(pilot)
        for event in done:
            await asyncio.wait_for(event.wait(), WAIT_SECONDS)
        await wait_until(
            pilot,
            lambda: status_of(screen, 1) == status_of(screen, 7) == "✔ completed",
            what="both redrafted jobs complete",
        )
        assert len(server.chat_requests) == 12
        assert await app.context.jobs.sent_counts(1) == (6, 0)
