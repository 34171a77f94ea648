"""Live updates of the job list from this process's engine and from other processes.

Jobs here run against the local fake chat-completions server with some latency,
so their progress arrives over several update batches.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from commjobs_tui.core.engine import JobRunner
from commjobs_tui.core.events import JobEvent, JobProgress
from commjobs_tui.core.settings import Settings
from commjobs_tui.db.store import Store
from tests import fakeapi
from tests.engine_helpers import add_donors, create_job, fake_settings
from tests.jobs_fixtures import (
    SIZE,
    WAIT_SECONDS,
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

EXTRA_DONORS = 40
# Emails of a job for every donor with a usable address: five of the sample
# donors plus the extras.
JOB_EMAILS = 5 + EXTRA_DONORS


def progress_waiter(runner: JobRunner, job_id: int) -> asyncio.Event:
    """Return an event set by the first progress event of the job."""
    arrived = asyncio.Event()

    def on_event(event: JobEvent) -> None:
        if isinstance(event, JobProgress) and event.job_id == job_id:
            arrived.set()

    runner.bus.subscribe(on_event)
    return arrived


async def test_running_job_row_advances(
    jobs_db: Path, server: fakeapi.FakeChatServer
) -> None:
    server.set_latency(0.05)
    settings = fake_settings(server.base_url, concurrency=2)
    app = make_jobs_app(jobs_db, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        runner = app.context.runner
        await add_donors(app.context.store, EXTRA_DONORS)
        job = await create_job(runner, name="Autumn update")
        await wait_until(
            pilot, lambda: job.id in rows_by_id(screen), what="the new job shows"
        )
        move_to_job(screen, 2)
        await settle_jobs(pilot)
        done = finished_waiter(runner, job.id)
        seen: set[str] = set()

        def record() -> bool:
            row = rows_by_id(screen)[job.id]
            seen.add(row[3])
            return row[2] == "✔ completed"

        task = await runner.start(job.id)
        await wait_until(pilot, record, what="the job's row shows completed")
        await asyncio.wait_for(task, WAIT_SECONDS)
        assert done.is_set()
        assert rows_by_id(screen)[job.id][3] == f"█████ {JOB_EMAILS}/{JOB_EMAILS}"
        # Progress showed between start and end, not only at the end.
        partial = [
            cell for cell in seen if not cell.endswith(f"{JOB_EMAILS}/{JOB_EMAILS}")
        ]
        assert partial, f"no partial progress seen: {seen}"
        assert screen.highlighted_job_id() == 2
        assert any(
            "Job “Autumn update”" in m and "completed" in m for m in messages(app)
        )


async def test_delete_during_progress(
    jobs_db: Path, server: fakeapi.FakeChatServer
) -> None:
    server.set_latency(0.05)
    settings = fake_settings(server.base_url, concurrency=2)
    app = make_jobs_app(jobs_db, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        runner = app.context.runner
        await add_donors(app.context.store, EXTRA_DONORS)
        job = await create_job(runner, name="Short-lived")
        arrived = progress_waiter(runner, job.id)
        await runner.start(job.id)
        await asyncio.wait_for(arrived.wait(), WAIT_SECONDS)
        await wait_until(
            pilot,
            lambda: (
                job.id in rows_by_id(screen)
                and status_of(screen, job.id) == "▶ running"
            ),
            what="the job runs in the table",
        )
        move_to_job(screen, job.id)
        await settle_jobs(pilot)
        await pilot.press("d")
        await settle_jobs(pilot)
        await pilot.press("y")
        await settle_jobs(pilot)
        assert job.id not in rows_by_id(screen)
        assert not runner.is_running_here(job.id)
        # Batches that still carry the job's progress change nothing.
        await wait_until(
            pilot, lambda: job.id not in rows_by_id(screen), what="a later batch"
        )
        assert app.is_running
        assert any(f"Deleted “Short-lived” ({job.id})" in m for m in messages(app))
        assert not [n for n in app._notifications if n.severity == "error"]


async def test_other_process_run_shows(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        # A second store and runner on the same file stand for another process.
        other_store = Store(jobs_db)
        other = JobRunner(other_store, Settings(), clock=frozen_clock)
        try:
            job = await create_job(other, name="Offline elsewhere", provider="offline")
            await other.run(job.id)
        finally:
            await other.aclose()
            await other_store.close()
        await wait_until(
            pilot,
            lambda: (
                job.id in rows_by_id(screen)
                and status_of(screen, job.id) == "✔ completed"
            ),
            what="the other process's job shows as completed",
        )
        assert rows_by_id(screen)[job.id][3] == "█████ 5/5"
        assert not app.context.runner.is_running_here(job.id)


async def test_other_connection_counts_show(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(pilot)
        move_to_job(screen, 7)
        await settle_jobs(pilot)
        other_store = Store(jobs_db)
        try:
            async with other_store.session() as session, session.begin():
                await session.execute(
                    text(
                        "UPDATE email_generation_sessions SET completed_count = 5, "
                        "failed_count = 0, status = 'paused' WHERE id = 3"
                    )
                )
        finally:
            await other_store.close()
        await wait_until(
            pilot,
            lambda: rows_by_id(screen)[3][3] == "████░ 5/6",
            what="the new counts show",
        )
        assert status_of(screen, 3) == "‖ paused"
        assert screen.highlighted_job_id() == 7
