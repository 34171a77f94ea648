"""The wizard's state and rules: names, segment values, the draft job, estimates."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from pydantic import SecretStr

from commjobs_tui.core.donors import DonorSegment
from commjobs_tui.core.engine import JobRunner
from commjobs_tui.core.errors import ConflictError, UserError
from commjobs_tui.core.jobs import EmailRow, JobService
from commjobs_tui.core.settings import Settings
from commjobs_tui.core.wizard import (
    ASSUMED_COMPLETION_TOKENS,
    STARTER_TEMPLATES,
    SelectedDonor,
    WizardDraft,
    average_completion_tokens,
    describe_provider,
    estimate_job,
    parse_dollars,
    parse_months,
    preview_draft,
    review_draft,
    save_draft_job,
    suggest_job_name,
    update_draft_job,
)
from commjobs_tui.db.store import Store
from tests.engine_helpers import FROZEN_NOW, add_donors, frozen_clock

TODAY = FROZEN_NOW.date()
INSTRUCTION = "Thank each donor for their most recent gift"


def donor(donor_id: int, **overrides: object) -> SelectedDonor:
    values: dict[str, object] = {
        "id": donor_id,
        "name": f"Donor {donor_id}",
        "email": f"donor{donor_id}@example.org",
        "emailable": True,
        "do_not_contact": False,
    }
    values.update(overrides)
    return SelectedDonor(**values)  # type: ignore[arg-type]


def offline_settings() -> Settings:
    return Settings(provider="offline")


def draft_for(donor_ids: list[int], **fields: object) -> WizardDraft:
    draft = WizardDraft(name="Spring thank-you", instruction=INSTRUCTION)
    draft.mark(donor(donor_id) for donor_id in donor_ids)
    for key, value in fields.items():
        setattr(draft, key, value)
    return draft


def email_row(completion_tokens: int) -> EmailRow:
    return EmailRow(
        id=1,
        job_id=1,
        donor_id=1,
        donor_name="Donor",
        donor_email="donor@example.org",
        status="completed",
        attempts=1,
        error_kind=None,
        last_error=None,
        subject="Thanks",
        body="Thank you.",
        is_preview=True,
        generated_at=None,
        sent_at=None,
        prompt_tokens=100,
        completion_tokens=completion_tokens,
    )


# Names and values ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        (DonorSegment(lapsed_months=12), "Lapsed donors - December 2026"),
        (
            DonorSegment(lapsed_months=12, min_total_cents=100_000),
            "Lapsed donors - December 2026",
        ),
        (DonorSegment(gave_within_months=3), "Recent donors - December 2026"),
        (
            DonorSegment(min_total_cents=100_000),
            "Donors of $1,000 or more - December 2026",
        ),
        (
            DonorSegment(min_total_cents=25_050),
            "Donors of $250.50 or more - December 2026",
        ),
        (DonorSegment(has_email=True), "Selected donors - December 2026"),
        (None, "Selected donors - December 2026"),
    ],
)
def test_suggested_name_follows_segment(
    segment: DonorSegment | None, expected: str
) -> None:
    assert suggest_job_name(segment, dt.date(2026, 12, 4)) == expected


@pytest.mark.parametrize(("text", "months"), [("1", 1), (" 12 ", 12), ("1200", 1200)])
def test_parse_months_accepts_range(text: str, months: int) -> None:
    assert parse_months(text, "Lapsed over") == months


@pytest.mark.parametrize("text", ["", "0", "1201", "abc", "-3", "2.5"])
def test_parse_months_rejects_value(text: str) -> None:
    with pytest.raises(UserError, match=r"Lapsed over: .* is not a number of months"):
        parse_months(text, "Lapsed over")


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("1000", 100_000),
        ("1,000", 100_000),
        ("$1,000.5", 100_050),
        ("250.25", 25_025),
        ("0", 0),
    ],
)
def test_parse_dollars_reads_amount(text: str, cents: int) -> None:
    assert parse_dollars(text, "Total at least") == cents


@pytest.mark.parametrize("text", ["", "1,00", "12.345", "ten", "1.2.3", "-5"])
def test_parse_dollars_rejects_value(text: str) -> None:
    with pytest.raises(UserError, match=r"Total at least: .* is not an amount"):
        parse_dollars(text, "Total at least")


def test_provider_described_for_review() -> None:
    assert describe_provider("offline", "offline") == (
        "offline (template drafts, no AI model)"
    )
    assert describe_provider("openai", "gpt-4.1-mini") == "openai, model gpt-4.1-mini"


def test_starter_templates_cover_four_letters() -> None:
    titles = [template.title for template in STARTER_TEMPLATES]
    assert titles == [
        "Thank-you for the last gift",
        "Renewal for lapsed donors",
        "Year-end appeal",
        "Event invitation",
    ]
    assert len({template.key for template in STARTER_TEMPLATES}) == 4
    assert all(template.text.strip() for template in STARTER_TEMPLATES)


# The draft ----------------------------------------------------------------------


def test_summary_counts_skipped_reasons() -> None:
    draft = WizardDraft()
    draft.mark(
        [
            donor(1),
            donor(2, email=None, emailable=False),
            donor(3, email="ada at example.org", emailable=False),
            donor(4, emailable=False, do_not_contact=True),
            donor(5, email=None, emailable=False, do_not_contact=True),
        ]
    )

    summary = draft.summary()

    assert summary.selected == 5
    assert summary.emailable == 1
    assert summary.no_email == 2
    assert summary.do_not_contact == 2
    assert summary.skipped == 4
    assert summary.describe() == (
        "5 donors selected, 1 to email · 4 skipped "
        "(2 without a usable email, 2 do not contact)"
    )


def test_summary_of_empty_selection() -> None:
    assert WizardDraft().summary().describe() == "No donors selected"


def test_mark_toggle_and_clear() -> None:
    draft = WizardDraft()
    assert draft.mark([donor(1), donor(2)]) == 2
    assert draft.mark([donor(2), donor(3)]) == 1
    assert draft.toggle(donor(2)) is False
    assert draft.toggle(donor(4)) is True
    assert sorted(draft.selected) == [1, 3, 4]
    assert draft.selection().ids == (1, 3, 4)
    assert draft.clear_marks() == 3
    assert draft.selected == {}


def test_unmark_drops_previews() -> None:
    draft = WizardDraft()
    draft.mark([donor(1), donor(2)])
    draft.previews = (
        replace(email_row(10), id=1, donor_id=1),
        replace(email_row(10), id=2, donor_id=2),
    )

    draft.unmark(1)
    assert [row.donor_id for row in draft.previews] == [2]
    draft.clear_marks()
    assert len(draft.previews) == 0


def test_preview_donors_default_and_picked() -> None:
    draft = WizardDraft()
    draft.mark(
        [
            donor(1, name="Zoe"),
            donor(2, name="adam"),
            donor(3, name="Mia", emailable=False),
            donor(4, name="Ben"),
            donor(5, name="Cleo"),
        ]
    )
    assert [d.id for d in draft.preview_donors()] == [2, 4, 5]

    draft.preview_donor_ids = [1, 3, 99]
    assert [d.id for d in draft.preview_donors()] == [1]

    draft.unmark(1)
    assert [d.id for d in draft.preview_donors()] == [2, 4, 5]


def test_name_suggestion_until_edited() -> None:
    draft = WizardDraft(segment=DonorSegment(lapsed_months=12))
    assert draft.name_for_step(TODAY) == "Lapsed donors - November 2026"

    draft.set_name("Lapsed donors - November 2026", TODAY)
    draft.segment = DonorSegment(gave_within_months=6)
    assert draft.name_for_step(TODAY) == "Recent donors - November 2026"

    draft.set_name("Autumn renewal", TODAY)
    draft.segment = None
    assert draft.name_for_step(TODAY) == "Autumn renewal"


def test_previews_current_until_edit() -> None:
    draft = WizardDraft(instruction="Thank them ")
    assert not draft.previews_are_current()
    draft.previewed_instruction = "Thank them"
    assert draft.previews_are_current()
    draft.instruction = "Thank them warmly"
    assert not draft.previews_are_current()


# The draft job ------------------------------------------------------------------


async def test_save_creates_then_follows_draft(store: Store) -> None:
    ids = await add_donors(store, 4, without_email=1)
    service = JobService(store, offline_settings(), frozen_clock)
    draft = draft_for(ids[:2])

    created = await save_draft_job(service, draft, offline_settings(), TODAY)

    assert draft.job_id == created.id
    assert created.status == "pending"
    assert created.name == "Spring thank-you"
    assert created.total == 2
    assert created.provider == "offline"

    draft.set_name("  Autumn   renewal ", TODAY)
    draft.unmark(ids[0])
    draft.mark([donor(ids[2]), donor(ids[4], email=None, emailable=False)])
    draft.instruction = "Invite each donor to renew"
    saved = await save_draft_job(service, draft, offline_settings(), TODAY)

    assert saved.id == created.id
    assert saved.name == "Autumn renewal"
    assert saved.total == 2
    assert saved.skipped == 1
    assert saved.instruction == "Invite each donor to renew"
    assert await service.count_jobs() == 1
    emails = await service.list_emails(saved.id, limit=None)
    assert sorted(email.donor_id for email in emails) == [ids[1], ids[2]]


async def test_save_recreates_deleted_job(store: Store) -> None:
    ids = await add_donors(store, 2)
    runner = JobRunner(store, offline_settings(), clock=frozen_clock)
    draft = draft_for(ids)
    first = await save_draft_job(runner.service, draft, offline_settings(), TODAY)
    await runner.delete([first.id])

    second = await save_draft_job(runner.service, draft, offline_settings(), TODAY)

    # SQLite may hand the freed id out again, so the check is that a job exists.
    assert draft.job_id == second.id
    assert second.total == 2
    assert await runner.service.count_jobs() == 1


async def test_save_rejects_started_job(store: Store) -> None:
    ids = await add_donors(store, 2)
    runner = JobRunner(store, offline_settings(), clock=frozen_clock)
    draft = draft_for(ids)
    job = await save_draft_job(runner.service, draft, offline_settings(), TODAY)
    finished = await (await runner.start(job.id))
    await runner.aclose()
    assert finished.status == "completed"

    draft.set_name("Another name", TODAY)
    with pytest.raises(ConflictError, match="already started"):
        await save_draft_job(runner.service, draft, offline_settings(), TODAY)

    unchanged = await runner.service.get_job(job.id)
    assert unchanged.name == "Spring thank-you"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "   ", "job name is empty"),
        ("name", "x" * 256, "job name is 256 characters long"),
        ("instruction", "  \n ", "instructions are empty"),
    ],
)
async def test_save_rejects_invalid_draft(
    store: Store, field: str, value: str, message: str
) -> None:
    ids = await add_donors(store, 1)
    service = JobService(store, offline_settings(), frozen_clock)
    draft = draft_for(ids, **{field: value})

    with pytest.raises(UserError, match=message):
        await save_draft_job(service, draft, offline_settings(), TODAY)

    assert draft.job_id is None
    assert await service.count_jobs() == 0


async def test_update_without_job_does_nothing(store: Store) -> None:
    service = JobService(store, offline_settings(), frozen_clock)
    assert await update_draft_job(service, draft_for([1])) is None
    assert await service.count_jobs() == 0


async def test_preview_stores_previews_and_history(store: Store) -> None:
    ids = await add_donors(store, 5)
    runner = JobRunner(store, offline_settings(), clock=frozen_clock)
    draft = draft_for(ids)

    rows = await preview_draft(runner, draft, offline_settings(), TODAY)
    draft.instruction = "Thank each donor and mention the spring newsletter"
    draft.preview_donor_ids = [ids[4]]
    again = await preview_draft(runner, draft, offline_settings(), TODAY)
    await runner.aclose()

    assert len(rows) == 3
    assert all(row.status == "completed" and row.subject for row in rows)
    assert [row.donor_id for row in again] == [ids[4]]
    assert draft.previews == again
    assert draft.previews_are_current()
    assert [entry["instruction"] for entry in draft.history] == [
        INSTRUCTION,
        "Thank each donor and mention the spring newsletter",
    ]
    assert draft.job_id is not None
    job = await runner.service.get_job(draft.job_id)
    assert job.status == "pending"
    assert job.total == 5
    assert job.completed == 0
    assert job.preview_count == 4


async def test_preview_needs_emailable_donor(store: Store) -> None:
    runner = JobRunner(store, offline_settings(), clock=frozen_clock)
    draft = WizardDraft(name="Name", instruction=INSTRUCTION)
    draft.mark([donor(1, email=None, emailable=False)])

    with pytest.raises(UserError, match="nothing to preview"):
        await preview_draft(runner, draft, offline_settings(), TODAY)

    assert draft.job_id is None


# Estimates ----------------------------------------------------------------------


async def test_offline_estimate_costs_nothing(store: Store) -> None:
    ids = await add_donors(store, 3)
    runner = JobRunner(store, offline_settings(), clock=frozen_clock)
    job, estimate = await review_draft(
        runner, draft_for(ids), offline_settings(), TODAY
    )

    assert job.total == 3
    assert estimate.offline
    assert estimate.emails == 3
    assert estimate.prompt_tokens == 0
    assert estimate.cost_usd == 0.0


def openai_settings(model: str) -> Settings:
    # The key only selects the provider. The estimate sends no request.
    return Settings(provider="openai", openai_api_key=SecretStr("sk-x"), model=model)


async def test_estimate_uses_price_table(store: Store) -> None:
    ids = await add_donors(store, 4)
    settings = openai_settings("gpt-4.1-mini")
    service = JobService(store, settings, frozen_clock)
    job = await save_draft_job(service, draft_for(ids), settings, TODAY)

    estimate = await estimate_job(store, settings, job, ids)

    assert not estimate.offline
    assert estimate.emails == 4
    assert estimate.prompt_tokens > 4 * 50
    assert estimate.completion_tokens_per_email == ASSUMED_COMPLETION_TOKENS
    assert not estimate.completion_from_previews
    assert estimate.completion_tokens == 4 * ASSUMED_COMPLETION_TOKENS
    expected = (
        estimate.prompt_tokens * 0.40 + estimate.completion_tokens * 1.60
    ) / 1_000_000
    assert estimate.cost_usd == pytest.approx(expected)


async def test_estimate_uses_preview_average(store: Store) -> None:
    ids = await add_donors(store, 2)
    settings = openai_settings("gpt-4.1-mini")
    service = JobService(store, settings, frozen_clock)
    job = await save_draft_job(service, draft_for(ids), settings, TODAY)

    estimate = await estimate_job(
        store, settings, job, ids, [email_row(300), email_row(201), email_row(0)]
    )

    assert estimate.completion_tokens_per_email == 251
    assert estimate.completion_from_previews


async def test_estimate_unknown_model_price(store: Store) -> None:
    ids = await add_donors(store, 1)
    settings = openai_settings("my-local-model")
    service = JobService(store, settings, frozen_clock)
    job = await save_draft_job(service, draft_for(ids), settings, TODAY)

    estimate = await estimate_job(store, settings, job, ids)

    assert estimate.cost_usd is None
    assert estimate.prompt_tokens > 0


def test_average_completion_ignores_zero() -> None:
    assert average_completion_tokens([]) is None
    assert average_completion_tokens([email_row(0)]) is None
    assert average_completion_tokens([email_row(10), email_row(11)]) == 11
