"""The app's job wiring: open_job, quitting with running jobs, events and errors."""

from __future__ import annotations

from pathlib import Path

from commjobs_tui.core.jobs import JobService
from commjobs_tui.core.settings import Settings
from commjobs_tui.core.watch import JobUpdates
from commjobs_tui.db.store import Store
from commjobs_tui.screens.job_detail import JobDetailScreen
from commjobs_tui.screens.job_dialogs import ConfirmDialog
from commjobs_tui.screens.jobs import JobsScreen
from tests import fakeapi
from tests.engine_helpers import fake_settings
from tests.jobs_fixtures import (
    SIZE,
    detail_screen,
    jobs_db,
    make_jobs_app,
    messages,
    move_to_job,
    open_jobs,
    rows_by_id,
    run_sql,
    server,
    settle_jobs,
    status_of,
    wait_until,
)
from tests.tui_helpers import frozen_clock

__all__ = ["jobs_db", "server"]


async def stored_status(db_path: Path, job_id: int) -> str:
    store = Store(db_path)
    try:
        return (
            await JobService(store, Settings(), frozen_clock).get_job(job_id)
        ).status
    finally:
        await store.close()


async def test_open_job_from_other_section(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db, first_section="donors")
    async with app.run_test(size=SIZE) as pilot:
        await settle_jobs(pilot)
        assert app.current_mode == "donors"
        await app.run_action("open_job(2)")
        await settle_jobs(pilot)
        assert app.current_mode == "jobs"
        assert detail_screen(app).job_id == 2
        await app.run_action("open_job(4)")
        await settle_jobs(pilot)
        assert detail_screen(app).job_id == 4
        assert len(app.screen_stack) == 2
        await pilot.press("escape")
        await settle_jobs(pilot)
        assert isinstance(app.screen, JobsScreen)


async def test_open_same_job_keeps_screen(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle_jobs(pilot)
        await app.run_action("open_job(2)")
        await settle_jobs(pilot)
        first = app.screen
        await pilot.press("1")
        await settle_jobs(pilot)
        await app.run_action("open_job(2)")
        await settle_jobs(pilot)
        assert app.screen is first


async def test_open_job_closes_dialog(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        move_to_job(screen, 1)
        await pilot.press("d")
        await settle_jobs(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await app.run_action("open_job(5)")
        await settle_jobs(pilot)
        assert detail_screen(app).job_id == 5
        # The delete dialog closed as if escape was pressed.
        assert await app.context.jobs.count_jobs() == 7


async def test_quit_without_jobs_exits(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle_jobs(pilot)
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_quit_asks_while_job_runs(
    jobs_db: Path, server: fakeapi.FakeChatServer
) -> None:
    # Requests take long enough that the job is still running when q is pressed.
    server.set_latency(30.0)
    app = make_jobs_app(jobs_db, fake_settings(server.base_url))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        move_to_job(screen, 4)
        await pilot.press("p")
        await wait_until(
            pilot, lambda: status_of(screen, 4) == "▶ running", what="job 4 runs"
        )
        await pilot.press("q")
        await settle_jobs(pilot)
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        text = " ".join(str(line.render()) for line in dialog.query(".dialog-line"))
        assert "1 job is running in this window: “Monthly donor update” (4)." in text
        assert "Quitting pauses it, and no drafted email is lost." in text
        # A second q while the dialog is open opens no second dialog.
        await pilot.press("q")
        await settle_jobs(pilot)
        assert sum(isinstance(s, ConfirmDialog) for s in app.screen_stack) == 1
        await pilot.press("escape")
        await settle_jobs(pilot)
        assert app.is_running
        assert app.context.runner.is_running_here(4)
        await pilot.press("q")
        await settle_jobs(pilot)
        await pilot.press("y")
        await pilot.pause()
    assert not app.is_running
    assert await stored_status(jobs_db, 4) == "paused"


async def test_exit_pauses_jobs_and_unsubscribes(
    jobs_db: Path, server: fakeapi.FakeChatServer
) -> None:
    # Requests take long enough that the job is still running when q is pressed.
    server.set_latency(30.0)
    app = make_jobs_app(jobs_db, fake_settings(server.base_url))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        move_to_job(screen, 4)
        await pilot.press("p")
        await wait_until(
            pilot, lambda: status_of(screen, 4) == "▶ running", what="job 4 runs"
        )
        bus = app.context.runner.bus
        assert len(bus._subscribers) == 1
    # Leaving run_test unmounts the app without the quit dialog.
    assert bus._subscribers == []
    assert await stored_status(jobs_db, 4) == "paused"
    pool = app.context.store.engine.pool
    assert pool.checkedout() == 0


async def test_updates_reach_screen_after_section_switch(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        await pilot.press("1")
        await settle_jobs(pilot)
        batches: list[JobUpdates] = []
        app.job_updates_signal.subscribe(app, batches.append, immediate=True)
        run_sql(
            jobs_db,
            "UPDATE email_generation_sessions SET status = 'paused' WHERE id = 5",
        )
        await wait_until(
            pilot,
            lambda: any(batch.database_changed for batch in batches),
            what="the change is published while the jobs are hidden",
        )
        assert app.current_mode == "donors"
        await pilot.press("3")
        await wait_until(
            pilot,
            lambda: status_of(screen, 5) == "‖ paused",
            what="the change made while hidden shows",
        )
        assert app.screen is screen


async def test_stale_action_error_notifies(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        await pilot.press("z")
        run_sql(
            jobs_db,
            "UPDATE email_generation_sessions SET status = 'running', "
            "lease_owner = 'x', lease_pid = 1, lease_host = 'elsewhere', "
            "lease_heartbeat_at = '2025-06-15 09:30:00' WHERE id = 2",
        )
        # The frozen table still shows job 2 as failed, so r tries a retry.
        assert status_of(screen, 2) == "✖ failed"
        move_to_job(screen, 2)
        await pilot.press("r")
        await settle_jobs(pilot)
        errors = [n for n in app._notifications if n.severity == "error"]
        assert len(errors) == 1
        assert "job 2 is running; wait for it to finish or cancel it first" in str(
            errors[0].message
        )
        assert "Traceback" not in str(errors[0].message)
        assert app.is_running
        await pilot.press("z")
        await settle_jobs(pilot)
        assert status_of(screen, 2) == "▶ running"


async def test_detail_screen_in_stack_updates(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        move_to_job(screen, 5)
        await pilot.press("enter")
        await settle_jobs(pilot)
        detail = detail_screen(app)
        run_sql(
            jobs_db,
            "UPDATE email_generation_sessions SET job_name = 'Renamed' WHERE id = 5",
        )
        await wait_until(
            pilot,
            lambda: detail.job is not None and detail.job.name == "Renamed",
            what="the detail screen shows the new name",
        )
        await pilot.press("escape")
        await wait_until(
            pilot,
            lambda: rows_by_id(screen)[5][1] == "Renamed",
            what="the list under it shows the new name",
        )
        assert isinstance(app.screen, JobsScreen)
        assert not isinstance(app.screen, JobDetailScreen)
        assert not [m for m in messages(app) if "error" in m.lower()]
