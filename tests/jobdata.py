"""Builders of synthetic donors, communication jobs and their emails for tests."""

from __future__ import annotations

import datetime as dt

from commjobs_tui.db.models import Donor, EmailGenerationSession, GeneratedEmail
from commjobs_tui.db.store import Store

GENERATED_AT = dt.datetime(2026, 3, 2, 9, 30)


async def add_donor(
    store: Store,
    first_name: str | None = "Ada",
    last_name: str | None = "Lovelace",
    email: str | None = "ada@example.org",
    *,
    organization_name: str | None = None,
    do_not_contact: bool = False,
) -> int:
    async with store.session() as session:
        donor = Donor(
            first_name=first_name,
            last_name=last_name,
            organization_name=organization_name,
            email=email,
            do_not_contact=do_not_contact,
        )
        session.add(donor)
        await session.commit()
        return donor.id


async def add_job(store: Store, job_name: str = "Spring appeal") -> int:
    async with store.session() as session:
        job = EmailGenerationSession(
            job_name=job_name,
            instruction="Thank each donor for their last gift.",
            provider="offline",
            model="offline",
            status="completed",
        )
        session.add(job)
        await session.commit()
        return job.id


async def add_email(
    store: Store,
    job_id: int,
    donor_id: int,
    *,
    subject: str | None = "Thank you",
    body: str | None = "Dear friend,\n\nThank you for your gift.\n",
    status: str = "completed",
    is_preview: bool = False,
) -> int:
    async with store.session() as session:
        email = GeneratedEmail(
            session_id=job_id,
            donor_id=donor_id,
            subject=subject,
            body=body,
            status=status,
            is_preview=is_preview,
            generated_at=GENERATED_AT if status == "completed" else None,
        )
        session.add(email)
        await session.commit()
        return email.id
