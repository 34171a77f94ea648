"""Job service parts the Communicate wizard uses: eligibility, new selections."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from commjobs_tui.core.engine import JobRunner
from commjobs_tui.core.errors import ConflictError, UserError
from commjobs_tui.core.jobs import DonorSelection, JobService
from commjobs_tui.core.settings import Settings
from commjobs_tui.db.models import Donor, EmailGenerationSession, GeneratedEmail
from commjobs_tui.db.store import Store
from tests.engine_helpers import (
    FROZEN_NOW,
    add_donors,
    assert_counters_agree,
    frozen_clock,
)

INSTRUCTION = "Thank each donor for their most recent gift"


def offline_runner(store: Store) -> JobRunner:
    return JobRunner(store, Settings(provider="offline"), clock=frozen_clock)


async def add_contact_cases(store: Store) -> dict[str, int]:
    """Insert donors whose email or contact flag decides whether a job includes them."""
    cases = {
        "valid": ("ok@example.org", False),
        "spaces around": ("  spaced@example.org ", False),
        "no at sign": ("ada at example.org", False),
        "nothing before at": ("@example.org", False),
        "nothing after at": ("someone@", False),
        "empty": ("", False),
        "blank": ("   ", False),
        "missing": (None, False),
        "do not contact": ("dnc@example.org", True),
    }
    ids: dict[str, int] = {}
    async with store.session() as session, session.begin():
        for label, (email, do_not_contact) in cases.items():
            donor = Donor(
                first_name=label.title(),
                last_name="Case",
                email=email,
                do_not_contact=do_not_contact,
            )
            session.add(donor)
            await session.flush()
            ids[label] = donor.id
    return ids


async def preview_emails(store: Store, job_id: int) -> list[GeneratedEmail]:
    async with store.session() as session:
        query = select(GeneratedEmail).where(
            GeneratedEmail.session_id == job_id, GeneratedEmail.is_preview.is_(True)
        )
        return list((await session.scalars(query)).all())


async def test_resolve_selection_needs_usable_address(store: Store) -> None:
    ids = await add_contact_cases(store)
    service = JobService(store, Settings(), frozen_clock)

    eligible, left_out = await service.resolve_selection(
        DonorSelection(kind="all"), FROZEN_NOW.date()
    )

    assert eligible == sorted([ids["valid"], ids["spaces around"]])
    assert left_out == len(ids) - 2


async def test_replace_selection_swaps_emails(store: Store) -> None:
    donors = await add_donors(store, 6, without_email=1)
    runner = offline_runner(store)
    service = runner.service
    job = await service.create_job(
        name="Draft",
        instruction=INSTRUCTION,
        selection=DonorSelection(kind="ids", ids=tuple(donors[:3])),
        provider="offline",
        model="offline",
    )
    await runner.generate_previews(job.id, donors[:2], INSTRUCTION)
    await runner.aclose()

    new_ids = (donors[1], donors[3], donors[4], donors[6])
    changed = await service.replace_selection(
        job.id, DonorSelection(kind="ids", ids=new_ids)
    )

    assert changed.total == 3
    assert changed.skipped == 1
    assert changed.status == "pending"
    assert changed.selection["ids"] == list(new_ids)
    emails = await service.list_emails(job.id, limit=None)
    assert sorted(email.donor_id for email in emails) == sorted(new_ids[:3])
    assert all(email.status == "pending" for email in emails)
    # The preview of a donor still selected stays; the other one goes.
    previews = await preview_emails(store, job.id)
    assert [email.donor_id for email in previews] == [donors[1]]
    assert changed.preview_donor_ids == (donors[1],)
    assert changed.preview_count == 1
    assert len(changed.refinement_history) == 1
    await assert_counters_agree(store, job.id)


async def test_replace_selection_rejects_started_job(store: Store) -> None:
    donors = await add_donors(store, 3)
    runner = offline_runner(store)
    job = await runner.service.create_job(
        name="Started",
        instruction=INSTRUCTION,
        selection=DonorSelection(kind="ids", ids=tuple(donors)),
        provider="offline",
        model="offline",
    )
    task = await runner.start(job.id)
    finished = await task
    await runner.aclose()
    assert finished.status == "completed"

    with pytest.raises(ConflictError, match="already started"):
        await runner.service.replace_selection(
            job.id, DonorSelection(kind="ids", ids=(donors[0],))
        )

    emails = await runner.service.list_emails(job.id, limit=None)
    assert len(emails) == 3


async def test_replace_selection_needs_emailable_donor(store: Store) -> None:
    donors = await add_donors(store, 2, without_email=1, do_not_contact=1)
    service = JobService(store, Settings(), frozen_clock)
    job = await service.create_job(
        name="Draft",
        instruction=INSTRUCTION,
        selection=DonorSelection(kind="ids", ids=tuple(donors[:2])),
        provider="offline",
        model="offline",
    )

    with pytest.raises(UserError, match="none of the 2 selected donors"):
        await service.replace_selection(
            job.id, DonorSelection(kind="ids", ids=tuple(donors[2:]))
        )

    async with store.session() as session:
        stored = await session.get(EmailGenerationSession, job.id)
        assert stored is not None
        assert stored.total_count == 2
    emails = await service.list_emails(job.id, limit=None)
    assert sorted(email.donor_id for email in emails) == donors[:2]
