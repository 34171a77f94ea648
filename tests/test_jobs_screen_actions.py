"""Job list row actions, their dialogs, and notices when an action does not apply.

Jobs that run here talk to the local fake chat-completions server.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, RadioSet, Static

from commjobs_tui.app import CommjobsApp
from commjobs_tui.core.jobs import JobService
from commjobs_tui.core.settings import Settings
from commjobs_tui.db.store import Store
from commjobs_tui.screens.job_dialogs import ConfirmDialog, ExportDialog
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
from tests.tui_helpers import frozen_clock

__all__ = ["jobs_db", "server"]


def server_app(db_path: Path, server: fakeapi.FakeChatServer) -> CommjobsApp:
    return make_jobs_app(db_path, fake_settings(server.base_url))


async def job_state(db_path: Path, job_id: int) -> tuple[str, str | None]:
    store = Store(db_path)
    try:
        job = await JobService(store, Settings(), frozen_clock).get_job(job_id)
        return job.status, job.requested_action
    finally:
        await store.close()


async def press_on_job(pilot: Pilot[Any], job_id: int, *keys: str) -> None:
    screen = await open_jobs(pilot)
    move_to_job(screen, job_id)
    await settle_jobs(pilot)
    await pilot.press(*keys)
    await settle_jobs(pilot)


async def wait_for_run(pilot: Pilot[Any], job_id: int, event: asyncio.Event) -> None:
    await asyncio.wait_for(event.wait(), WAIT_SECONDS)
    screen = pilot.app.screen
    await wait_until(
        pilot,
        lambda: "running" not in status_of(screen, job_id),  # type: ignore[arg-type]
        what=f"job {job_id} stops running in the table",
    )


async def test_retry_failed_runs_job(
    jobs_db: Path, server: fakeapi.FakeChatServer
) -> None:
    app = server_app(jobs_db, server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        done = finished_waiter(app.context.runner, 2)
        await press_on_job(pilot, 2, "r")
        assert any(
            "Drafting 2 emails of “Year-end appeal” (2)" in m for m in messages(app)
        )
        await wait_for_run(pilot, 2, done)
        assert status_of(screen, 2) == "✔ completed"
        assert rows_by_id(screen)[2][3] == "█████ 6/6"
        assert rows_by_id(screen)[2][4] == "0"
        assert len(server.chat_requests) == 2


async def test_full_retry_confirm_redrafts(
    jobs_db: Path, server: fakeapi.FakeChatServer
) -> None:
    app = server_app(jobs_db, server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        done = finished_waiter(app.context.runner, 1)
        await press_on_job(pilot, 1, "R")
        await pilot.press("y")
        await settle_jobs(pilot)
        await wait_for_run(pilot, 1, done)
        assert status_of(screen, 1) == "✔ completed"
        assert len(server.chat_requests) == 6
        unsent, sent = await app.context.jobs.sent_counts(1)
        assert (unsent, sent) == (6, 0)


async def test_cancel_pending_job(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        await press_on_job(pilot, 5, "c")
        text = dialog_text(app)
        assert "Cancel “Lapsed donor outreach” (5)?" in text
        assert "The 6 pending emails stay pending" in text
        await pilot.press("y")
        await settle_jobs(pilot)
        assert await job_state(jobs_db, 5) == ("cancelled", None)
        assert status_of(screen, 5) == "⊘ cancelled"
        assert "Cancelled “Lapsed donor outreach” (5)." in messages(app)


async def test_cancel_other_process_requests(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        await press_on_job(pilot, 3, "c")
        text = dialog_text(app)
        assert "runs in process 4242 on other-host.example.org" in text
        await pilot.press("y")
        await settle_jobs(pilot)
        assert await job_state(jobs_db, 3) == ("running", "cancel")
        await wait_until(
            pilot,
            lambda: status_of(screen, 3) == "▶ cancelling",
            what="the row says cancelling",
        )
        assert any("Asked process 4242 to cancel" in m for m in messages(app))


async def test_pause_other_process_requests(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        await press_on_job(pilot, 3, "p")
        assert await job_state(jobs_db, 3) == ("running", "pause")
        await wait_until(
            pilot,
            lambda: status_of(screen, 3) == "▶ pausing",
            what="the row says pausing",
        )


async def test_resume_paused_job_runs(
    jobs_db: Path, server: fakeapi.FakeChatServer
) -> None:
    app = server_app(jobs_db, server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        done = finished_waiter(app.context.runner, 4)
        await press_on_job(pilot, 4, "p")
        await wait_for_run(pilot, 4, done)
        assert status_of(screen, 4) == "✔ completed"
        assert len(server.chat_requests) == 4


async def test_pause_running_here_then_resume(
    jobs_db: Path, server: fakeapi.FakeChatServer
) -> None:
    server.set_latency(10.0)
    app = server_app(jobs_db, server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        await press_on_job(pilot, 4, "p")
        await wait_until(
            pilot, lambda: status_of(screen, 4) == "▶ running", what="job 4 runs"
        )
        assert app.context.runner.is_running_here(4)
        await pilot.press("p")
        await wait_until(
            pilot, lambda: status_of(screen, 4) == "‖ paused", what="job 4 pauses"
        )
        assert not app.context.runner.is_running_here(4)
        assert any("Paused “Monthly donor update” (4)" in m for m in messages(app))
        server.set_latency(0.0)
        done = finished_waiter(app.context.runner, 4)
        await pilot.press("p")
        await wait_for_run(pilot, 4, done)
        assert status_of(screen, 4) == "✔ completed"


async def test_delete_confirm_removes_row(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        await press_on_job(pilot, 2, "d")
        text = dialog_text(app)
        assert "Delete “Year-end appeal” (2)?" in text
        assert "Job 2 and all 6 emails are deleted." in text
        assert "4 drafted emails will be permanently deleted." in text
        assert "running now" not in text
        await pilot.press("y")
        await settle_jobs(pilot)
        assert 2 not in rows_by_id(screen)
        assert "Deleted “Year-end appeal” (2) and 6 emails." in messages(app)
        assert await app.context.jobs.count_jobs() == 6


async def test_delete_running_job_warns(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        await press_on_job(pilot, 3, "d")
        text = dialog_text(app)
        assert "This job is running now. It is cancelled first" in text
        assert "3 drafted emails will be permanently deleted." in text
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        assert dialog.danger
        await pilot.press("escape")
        await settle_jobs(pilot)
        assert await job_state(jobs_db, 3) == ("running", None)


async def test_export_writes_file(jobs_db: Path, tmp_path: Path) -> None:
    app = make_jobs_app(jobs_db)
    out = tmp_path / "out" / "spring.csv"
    out.parent.mkdir()
    async with app.run_test(size=SIZE) as pilot:
        await press_on_job(pilot, 1, "e")
        dialog = app.screen
        assert isinstance(dialog, ExportDialog)
        dialog.path_input.value = str(out)
        dialog.path_input.focus()
        await pilot.press("enter")
        await settle_jobs(pilot)
        assert not isinstance(app.screen, ExportDialog)
        assert out.exists()
        assert out.stat().st_mode & 0o777 == 0o600
        assert any(f"Wrote 6 emails to {out} (csv)." in m for m in messages(app))
        assert "Spring thank-you 2025" in out.read_text(encoding="utf-8-sig")
    conn = sqlite3.connect(jobs_db)
    exported = conn.execute(
        "SELECT count(*) FROM communication_messages"
        " WHERE channel = 'export' AND session_id = 1"
    ).fetchone()[0]
    conn.close()
    assert exported == 6


async def test_export_dialog_shows_errors(jobs_db: Path, tmp_path: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        await press_on_job(pilot, 1, "e")
        dialog = app.screen
        assert isinstance(dialog, ExportDialog)
        error = dialog.query_one("#export-error", Static)
        dialog.path_input.value = str(tmp_path / "missing" / "x.csv")
        dialog.path_input.focus()
        await pilot.press("enter")
        await settle_jobs(pilot)
        assert app.screen is dialog
        assert error.display
        assert "does not exist; create it or choose another path" in str(error.render())
        dialog.path_input.value = "   "
        await pilot.press("enter")
        await settle_jobs(pilot)
        assert "Enter where to write the export" in str(error.render())
        await pilot.press("escape")
        await settle_jobs(pilot)
        assert not isinstance(app.screen, ExportDialog)


async def test_export_asks_before_replacing(jobs_db: Path, tmp_path: Path) -> None:
    app = make_jobs_app(jobs_db)
    existing = tmp_path / "existing.jsonl"
    existing.write_text("keep me\n", encoding="utf-8")
    async with app.run_test(size=SIZE) as pilot:
        await press_on_job(pilot, 1, "e")
        dialog = app.screen
        assert isinstance(dialog, ExportDialog)
        dialog.query_one("#export-format", RadioSet).focus()
        await pilot.press("down", "enter")
        await settle_jobs(pilot)
        assert dialog.format == "jsonl"
        dialog.path_input.value = str(existing)
        dialog.path_input.focus()
        await pilot.press("enter")
        await settle_jobs(pilot)
        assert "already exists" in str(dialog.query_one("#export-error").render())
        assert existing.read_text(encoding="utf-8") == "keep me\n"
        await pilot.press("enter")
        await settle_jobs(pilot)
        assert not isinstance(app.screen, ExportDialog)
        assert existing.read_text(encoding="utf-8").count("\n") == 6


async def test_export_format_changes_name(jobs_db: Path, tmp_path: Path) -> None:
    state = tmp_path / "ui.json"
    state.write_text(f'{{"jobs.export_folder": "{tmp_path}"}}', encoding="utf-8")
    app = make_jobs_app(jobs_db, ui_state_path=state)
    async with app.run_test(size=SIZE) as pilot:
        await press_on_job(pilot, 1, "e")
        dialog = app.screen
        assert isinstance(dialog, ExportDialog)
        path_input = dialog.query_one("#export-path", Input)
        assert path_input.value == str(tmp_path / "spring-thank-you-2025-job1.csv")
        dialog.query_one("#export-format", RadioSet).focus()
        await pilot.press("down", "down", "enter")
        await settle_jobs(pilot)
        assert path_input.value == str(tmp_path / "spring-thank-you-2025-job1-eml")


async def test_enter_opens_job_details(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        await press_on_job(pilot, 2, "enter")
        assert app.screen.job_id == 2  # type: ignore[attr-defined]
        await pilot.press("escape")
        await settle_jobs(pilot)
        assert app.screen.__class__.__name__ == "JobsScreen"


NOT_APPLICABLE = [
    (3, "r", "“Gala invitations” (3) is running"),
    (1, "r", "has no failed or unfinished emails"),
    (3, "R", "is running. Wait until it finishes"),
    (1, "c", "is completed, so there is nothing to cancel"),
    (1, "p", "cannot be paused or resumed. Press R for a full retry"),
    (6, "p", "Press r to run its pending and failed emails again"),
    (5, "e", "has no completed emails to export yet"),
]


async def test_action_that_does_not_apply_explains(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_jobs(pilot)
        for job_id, key, expected in NOT_APPLICABLE:
            before = await job_state(jobs_db, job_id)
            app.clear_notifications()
            await press_on_job(pilot, job_id, key)
            assert app.screen.__class__.__name__ == "JobsScreen", (job_id, key)
            assert any(expected in m for m in messages(app)), (key, messages(app))
            assert await job_state(jobs_db, job_id) == before, (job_id, key)


async def test_dialogs_escape_change_nothing(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        await press_on_job(pilot, 1, "R")
        text = dialog_text(app)
        assert "Full retry of “Spring thank-you 2025” (1)?" in text
        assert "Its 6 completed emails will be discarded." in text
        assert "2 emails marked as sent lose that mark" in text
        await pilot.press("escape")
        await settle_jobs(pilot)
        await press_on_job(pilot, 4, "c")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        await settle_jobs(pilot)
        await press_on_job(pilot, 2, "d")
        await pilot.press("escape")
        await settle_jobs(pilot)
        # The dangerous dialog starts on its back button, so enter keeps the job.
        await press_on_job(pilot, 2, "d")
        await pilot.press("enter")
        await settle_jobs(pilot)
        assert not isinstance(app.screen, ConfirmDialog)
        assert await job_state(jobs_db, 1) == ("completed", None)
        assert await job_state(jobs_db, 4) == ("paused", None)
        assert await app.context.jobs.count_jobs() == 7
        assert 2 in rows_by_id(screen)
        assert (await app.context.jobs.sent_counts(1)) == (4, 2)
