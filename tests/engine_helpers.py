"""Builders for engine tests: donors with gifts, settings aimed at the fake server."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

from pydantic import SecretStr
from sqlalchemy import func, select

from commjobs_tui.core.engine import JobRunner
from commjobs_tui.core.events import JobEvent, JobProgress
from commjobs_tui.core.jobs import DonorSelection, JobDetail
from commjobs_tui.core.settings import Settings
from commjobs_tui.db.models import (
    Donation,
    Donor,
    EmailGenerationSession,
    GeneratedEmail,
)
from commjobs_tui.db.store import Store

FROZEN_NOW = dt.datetime(2026, 11, 20, 15, 0, 0)


def frozen_clock() -> dt.datetime:
    return FROZEN_NOW


def fake_settings(base_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "provider": "openai",
        "base_url": base_url,
        "openai_api_key": SecretStr("sk-test-not-a-real-key"),
        "request_timeout": 5.0,
        "concurrency": 4,
        "max_attempts": 4,
        "requests_per_minute": 100_000,
        "tokens_per_minute": 100_000_000,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


async def add_donors(
    store: Store, count: int, *, without_email: int = 0, do_not_contact: int = 0
) -> list[int]:
    """Insert synthetic donors, each with two gifts; return their ids."""
    ids: list[int] = []
    async with store.session() as session, session.begin():
        for index in range(count + without_email + do_not_contact):
            has_email = index < count or index >= count + without_email
            donor = Donor(
                first_name=f"Donor{index:04d}",
                last_name="Testperson",
                email=f"donor{index:04d}@example.org" if has_email else None,
                do_not_contact=index >= count + without_email,
            )
            session.add(donor)
            await session.flush()
            for year, cents in ((2024, 5_000 + index), (2025, 7_500 + index)):
                session.add(
                    Donation(
                        donor_id=donor.id,
                        amount_cents=cents,
                        currency="USD",
                        donated_on=dt.date(year, 3, 1),
                        campaign="Spring appeal",
                        source_ref=f"test:{index}:{year}",
                    )
                )
            ids.append(donor.id)
    return ids


async def create_job(
    runner: JobRunner, *, name: str = "Spring thank-you", provider: str = "openai"
) -> JobDetail:
    return await runner.service.create_job(
        name=name,
        instruction="Thank each donor for their most recent gift",
        selection=DonorSelection(kind="all"),
        provider=provider,
        model="gpt-test",
        today=FROZEN_NOW.date(),
    )


async def email_status_counts(store: Store, job_id: int) -> dict[str, int]:
    query = (
        select(GeneratedEmail.status, func.count())
        .where(
            GeneratedEmail.session_id == job_id, GeneratedEmail.is_preview.is_(False)
        )
        .group_by(GeneratedEmail.status)
    )
    async with store.session() as session:
        return {status: count for status, count in await session.execute(query)}


async def assert_counters_agree(store: Store, job_id: int) -> None:
    counts = await email_status_counts(store, job_id)
    async with store.session() as session:
        job = await session.get(EmailGenerationSession, job_id)
        assert job is not None
        assert job.total_count == sum(counts.values())
        assert job.completed_count == counts.get("completed", 0)
        assert job.failed_count == counts.get("failed", 0)


def progress_waiter(
    job_id: int, predicate: Callable[[JobProgress], bool]
) -> tuple[asyncio.Event, Callable[[JobEvent], None]]:
    """An event set when a progress event of the job satisfies `predicate`."""
    reached = asyncio.Event()

    def on_event(event: JobEvent) -> None:
        if (
            isinstance(event, JobProgress)
            and event.job_id == job_id
            and predicate(event)
        ):
            reached.set()

    return reached, on_event
