"""JobService reads that the job detail screen needs: emails by id, sent counts."""

from __future__ import annotations

from pathlib import Path

from commjobs_tui.core.jobs import JobService
from commjobs_tui.core.settings import Settings
from commjobs_tui.db.store import Store
from tests.jobs_fixtures import seed_jobs
from tests.tui_helpers import frozen_clock


async def email_ids(service: JobService, job_id: int) -> list[int]:
    return [row.id for row in await service.list_emails(job_id, limit=None)]


async def test_get_emails_returns_requested(db_path: Path) -> None:
    jobs = seed_jobs(db_path)
    store = Store(db_path)
    try:
        service = JobService(store, Settings(), frozen_clock)
        ids = await email_ids(service, jobs["failed"])
        rows = await service.get_emails(jobs["failed"], [ids[5], ids[0], ids[5]])
        assert [row.id for row in rows] == [ids[0], ids[5]]
        assert rows[0].status == "completed"
        assert rows[1].status == "failed"
        assert rows[1].error_kind == "refusal"
        assert rows[0].donor_name == "Julia Morrison"
    finally:
        await store.close()


async def test_get_emails_ignores_other_jobs(db_path: Path) -> None:
    jobs = seed_jobs(db_path)
    store = Store(db_path)
    try:
        service = JobService(store, Settings(), frozen_clock)
        other = await email_ids(service, jobs["completed"])
        rows = await service.get_emails(jobs["failed"], [*other, 999_999])
        assert rows == []
        assert await service.get_emails(jobs["failed"], []) == []
    finally:
        await store.close()


async def test_get_emails_many_ids(db_path: Path) -> None:
    jobs = seed_jobs(db_path)
    store = Store(db_path)
    try:
        service = JobService(store, Settings(), frozen_clock)
        ids = await email_ids(service, jobs["paused"])
        # More ids than one chunk of 500, so the query runs in several chunks.
        requested_ids = [*ids, *range(10_000, 11_200)]
        rows = await service.get_emails(jobs["paused"], requested_ids)
        assert [row.id for row in rows] == ids
    finally:
        await store.close()


async def test_sent_counts(db_path: Path) -> None:
    jobs = seed_jobs(db_path)
    store = Store(db_path)
    try:
        service = JobService(store, Settings(), frozen_clock)
        # Six completed emails, two of them marked as sent.
        assert await service.sent_counts(jobs["completed"]) == (4, 2)
        # Four completed and two failed emails, none sent.
        assert await service.sent_counts(jobs["failed"]) == (4, 0)
        assert await service.sent_counts(jobs["pending"]) == (0, 0)
        assert await service.sent_counts(999_999) == (0, 0)
    finally:
        await store.close()
