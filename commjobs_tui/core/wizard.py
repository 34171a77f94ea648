"""State and rules of the Communicate wizard, shared by its four steps.

The steps (select donors, name the job, write instructions, review) read and
change one `WizardDraft`, so going back a step keeps what was entered. The first
preview (or else the review) creates a pending "draft job" with the selected
donors. From then on the job follows the draft: moving on from the first two
steps updates its donors and name, and each preview and the review also update
its instruction. A wizard left without starting its job leaves the draft job
pending in the job list, where it can be started or deleted.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from commjobs_tui.core.donors import DonorRow, DonorSegment
from commjobs_tui.core.engine import JobRunner
from commjobs_tui.core.errors import ConflictError, NotFoundError, UserError
from commjobs_tui.core.jobs import (
    DonorSelection,
    EmailRow,
    JobDetail,
    JobService,
    estimate_cost,
    validate_instruction,
    validate_job_name,
)
from commjobs_tui.core.prompt import (
    OrgProfile,
    estimate_prompt_tokens,
    load_donor_facts,
)
from commjobs_tui.core.settings import Settings
from commjobs_tui.db.store import Store

log = logging.getLogger(__name__)

MAX_PREVIEW_DONORS = 3
MAX_SEGMENT_MONTHS = 1200
# A reply in the default house style (at most 200 words, a subject line and the
# JSON around them) is roughly 300 tokens at about four characters a token, so
# 400 per email leaves a margin. The estimate uses the previews' measured
# average instead once a model has drafted some.
ASSUMED_COMPLETION_TOKENS = 400
OFFLINE_DESCRIPTION = "offline (template drafts, no AI model)"

_AMOUNT = re.compile(r"^\$?\s*(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?$")


@dataclass(frozen=True)
class SelectedDonor:
    """A marked donor, with the contact facts that decide whether a job emails them.

    `emailable` has the meaning of `DonorRow.emailable`: an address of the form
    "x@y" and no do-not-contact mark.
    """

    id: int
    name: str
    email: str | None
    emailable: bool
    do_not_contact: bool

    @classmethod
    def from_row(cls, row: DonorRow) -> SelectedDonor:
        return cls(
            id=row.id,
            name=row.display_name,
            email=row.email,
            emailable=row.emailable,
            do_not_contact=row.do_not_contact,
        )


@dataclass(frozen=True)
class SelectionSummary:
    """Counts of the marked donors, and of those a job would skip and why.

    A donor marked do-not-contact counts there, whatever their email.
    """

    selected: int
    emailable: int
    do_not_contact: int
    no_email: int

    @property
    def skipped(self) -> int:
        return self.selected - self.emailable

    def describe(self) -> str:
        """Describe the selection in one line, as the first two steps show it."""
        if not self.selected:
            return "No donors selected"
        noun = "donor" if self.selected == 1 else "donors"
        text = f"{self.selected:,} {noun} selected, {self.emailable:,} to email"
        reasons = []
        if self.no_email:
            reasons.append(f"{self.no_email:,} without a usable email")
        if self.do_not_contact:
            reasons.append(f"{self.do_not_contact:,} do not contact")
        if reasons:
            text += f" · {self.skipped:,} skipped ({', '.join(reasons)})"
        return text


@dataclass(frozen=True)
class StarterTemplate:
    """An example instruction the operator can insert and then adapt."""

    key: str
    title: str
    text: str


STARTER_TEMPLATES = (
    StarterTemplate(
        "thank_you",
        "Thank-you for the last gift",
        "Thank the donor warmly for their most recent gift, naming the amount "
        "and the date. Say in one or two sentences what gifts like theirs made "
        "possible this year. Do not ask for another gift.",
    ),
    StarterTemplate(
        "renewal",
        "Renewal for lapsed donors",
        "Write to a donor who has not given for a while. Thank them for their "
        "past support, mentioning their last gift and when it was. Share one "
        "recent result of our work and invite them to renew their support. "
        "Keep the tone warm and free of guilt.",
    ),
    StarterTemplate(
        "year_end",
        "Year-end appeal",
        "Write a year-end appeal. Thank the donor for their giving so far and "
        "describe what we achieved together this year. Ask them to consider a "
        "gift before 31 December, and mention that gifts are tax-deductible "
        "where the law allows.",
    ),
    StarterTemplate(
        "event",
        "Event invitation",
        "Invite the donor to our supporter event. Say that it is a chance to "
        "meet the team and hear about this year's work. Thank them for their "
        "support and ask them to reply to this email to reserve a place. "
        "Leave the date and place for staff to add by hand.",
    ),
)


def describe_provider(provider: str, model: str) -> str:
    """Name the provider and model that draft a job's emails."""
    if provider == "offline":
        return OFFLINE_DESCRIPTION
    return f"{provider}, model {model}"


def month_label(day: dt.date) -> str:
    """Format a date's month as "December 2026".

    `calendar.month_name` follows LC_TIME, which stays the English "C" locale
    because commjobs never calls `locale.setlocale`.
    """
    return f"{calendar.month_name[day.month]} {day.year}"


def whole_dollars(cents: int) -> str:
    """Format cents as "$1,000", with cents only when there are some."""
    units, remainder = divmod(cents, 100)
    if remainder:
        return f"${units:,}.{remainder:02d}"
    return f"${units:,}"


def segment_label(segment: DonorSegment | None) -> str:
    """Name the donors a segment selects, for a suggested job name."""
    if segment is None:
        return "Selected donors"
    if segment.lapsed_months is not None:
        return "Lapsed donors"
    if segment.gave_within_months is not None:
        return "Recent donors"
    if segment.min_total_cents is not None:
        return f"Donors of {whole_dollars(segment.min_total_cents)} or more"
    return "Selected donors"


def suggest_job_name(segment: DonorSegment | None, today: dt.date) -> str:
    """Suggest a job name from the segment and the month, such as
    "Lapsed donors - December 2026"."""
    return f"{segment_label(segment)} - {month_label(today)}"


def parse_months(text: str, what: str) -> int:
    """Parse a segment's number of months. Raises UserError naming `what`."""
    value = text.strip()
    if not value.isdigit() or not 1 <= int(value) <= MAX_SEGMENT_MONTHS:
        shown = value or "nothing"
        raise UserError(
            f"{what}: {shown!r} is not a number of months; "
            f"enter a whole number from 1 to {MAX_SEGMENT_MONTHS}"
        )
    return int(value)


def parse_dollars(text: str, what: str) -> int:
    """Parse an amount such as "1,000" or "250.50" into cents.

    Raises UserError naming `what` when the text is not such an amount.
    """
    value = text.strip()
    match = _AMOUNT.match(value)
    if match is None:
        shown = value or "nothing"
        raise UserError(
            f"{what}: {shown!r} is not an amount; enter dollars such as 1000 "
            "or 1,000.50"
        )
    units = int(match.group(1).replace(",", ""))
    cents = int((match.group(2) or "0").ljust(2, "0"))
    return units * 100 + cents


@dataclass
class WizardDraft:
    """Everything entered in the wizard so far, and the draft job it has created.

    `selected` maps donor id to the marked donor. `name` is the job name as typed,
    and `name_edited` is true once the operator has changed the suggested name.
    `preview_donor_ids` are the operator's picks for previews, and `previews`,
    `previewed_instruction` and `history` come from the last preview.
    """

    selected: dict[int, SelectedDonor] = field(default_factory=dict)
    segment: DonorSegment | None = None
    name: str = ""
    name_edited: bool = False
    instruction: str = ""
    preview_donor_ids: list[int] = field(default_factory=list)
    previews: tuple[EmailRow, ...] = ()
    previewed_instruction: str | None = None
    history: tuple[dict[str, Any], ...] = ()
    job_id: int | None = None

    # Selection -------------------------------------------------------------

    def mark(self, donors: Iterable[SelectedDonor]) -> int:
        """Add donors to the selection; return how many were not marked before."""
        added = 0
        for donor in donors:
            if donor.id not in self.selected:
                added += 1
            self.selected[donor.id] = donor
        return added

    def unmark(self, donor_id: int) -> None:
        self.selected.pop(donor_id, None)
        self._drop_unselected_previews()

    def toggle(self, donor: SelectedDonor) -> bool:
        """Mark or unmark one donor; return whether the donor is now marked."""
        if donor.id in self.selected:
            self.unmark(donor.id)
            return False
        self.mark([donor])
        return True

    def clear_marks(self) -> int:
        """Unmark every donor; return how many were marked."""
        count = len(self.selected)
        self.selected.clear()
        self._drop_unselected_previews()
        return count

    def _drop_unselected_previews(self) -> None:
        # Saving the draft job deletes these previews, so they are not shown.
        self.previews = tuple(
            row for row in self.previews if row.donor_id in self.selected
        )

    def summary(self) -> SelectionSummary:
        donors = self.selected.values()
        do_not_contact = sum(1 for donor in donors if donor.do_not_contact)
        emailable = sum(1 for donor in donors if donor.emailable)
        return SelectionSummary(
            selected=len(self.selected),
            emailable=emailable,
            do_not_contact=do_not_contact,
            no_email=len(self.selected) - emailable - do_not_contact,
        )

    def selection(self) -> DonorSelection:
        return DonorSelection(kind="ids", ids=tuple(sorted(self.selected)))

    def emailable_donors(self) -> list[SelectedDonor]:
        """Return the selected donors a job would email, by name and then id."""
        donors = [donor for donor in self.selected.values() if donor.emailable]
        return sorted(donors, key=lambda donor: (donor.name.casefold(), donor.id))

    def preview_donors(self) -> list[SelectedDonor]:
        """Return the donors the next preview drafts for.

        These are the operator's picks that are still selected and emailable,
        or else the first three emailable donors by name.
        """
        emailable = {donor.id: donor for donor in self.emailable_donors()}
        picked = [emailable[i] for i in self.preview_donor_ids if i in emailable]
        if picked:
            return picked[:MAX_PREVIEW_DONORS]
        return list(emailable.values())[:MAX_PREVIEW_DONORS]

    # Name ------------------------------------------------------------------

    def suggested_name(self, today: dt.date) -> str:
        return suggest_job_name(self.segment, today)

    def name_for_step(self, today: dt.date) -> str:
        """Return the name to show in the name step.

        The suggestion follows the segment until the operator edits the name.
        """
        if self.name_edited:
            return self.name
        return self.suggested_name(today)

    def set_name(self, text: str, today: dt.date) -> None:
        self.name = text
        self.name_edited = text != self.suggested_name(today)

    # Previews --------------------------------------------------------------

    def previews_are_current(self) -> bool:
        """Tell whether the shown previews used the instruction as it is now."""
        if self.previewed_instruction is None:
            return False
        return self.previewed_instruction == self.instruction.strip()


async def load_draft_job(service: JobService, draft: WizardDraft) -> JobDetail | None:
    """Load the draft job, or return None when there is none or it was deleted.

    Raises ConflictError when the job has started since the wizard created it,
    because the wizard may change only jobs that never ran.
    """
    if draft.job_id is None:
        return None
    try:
        job = await service.get_job(draft.job_id)
    except NotFoundError:
        log.warning("draft job %s was deleted; forgetting it", draft.job_id)
        draft.job_id = None
        return None
    if job.status != "pending" or job.started_at is not None:
        raise ConflictError(
            f"job {job.id} has already started, so this wizard can no longer "
            "change it. Press ctrl+p and choose New communication job to start over."
        )
    return job


async def update_draft_job(
    service: JobService, draft: WizardDraft, *, name: str | None = None
) -> JobDetail | None:
    """Give an existing draft job the draft's donors, and `name` when given.

    Returns the job, or None when there is no draft job yet.
    """
    job = await load_draft_job(service, draft)
    if job is None:
        return None
    if name is not None and job.name != name:
        job = await service.rename_job(job.id, name)
        log.info("renamed draft job %s", job.id)
    selection = draft.selection()
    if list(job.selection.get("ids") or ()) != list(selection.ids):
        job = await service.replace_selection(job.id, selection)
    return job


async def save_draft_job(
    service: JobService, draft: WizardDraft, settings: Settings, today: dt.date
) -> JobDetail:
    """Create the draft job, or bring the existing one in line with the draft.

    The job gets the draft's name, selected donors and instruction. A draft job
    deleted elsewhere is created again. Raises ConflictError when the draft job
    has started since, and UserError for an invalid name or instruction.
    """
    name = validate_job_name(draft.name)
    instruction = validate_instruction(draft.instruction)
    job = await update_draft_job(service, draft, name=name)
    if job is not None:
        if job.instruction != instruction:
            job = await service.update_instruction(job.id, instruction)
        return job
    job = await service.create_job(
        name=name,
        instruction=instruction,
        selection=draft.selection(),
        provider=settings.effective_provider,
        model=settings.model,
        today=today,
    )
    draft.job_id = job.id
    log.info("created draft job %s with %d emails", job.id, job.total)
    return job


async def preview_draft(
    runner: JobRunner, draft: WizardDraft, settings: Settings, today: dt.date
) -> tuple[EmailRow, ...]:
    """Save the draft job and draft preview emails for up to three donors.

    The previews and the job's refinement history are stored in the draft.
    Raises UserError for empty instructions or when no selected donor can be
    emailed.
    """
    instruction = validate_instruction(draft.instruction)
    donors = draft.preview_donors()
    if not donors:
        raise UserError(
            "none of the selected donors can be emailed, so there is nothing to "
            "preview; go back to the first step and select other donors"
        )
    job = await save_draft_job(runner.service, draft, settings, today)
    rows = await runner.generate_previews(
        job.id, [donor.id for donor in donors], instruction
    )
    detail = await runner.service.get_job(job.id)
    draft.previews = tuple(rows)
    draft.previewed_instruction = instruction
    draft.history = detail.refinement_history
    return draft.previews


@dataclass(frozen=True)
class JobEstimate:
    """Estimated tokens and cost of drafting every email of a job.

    Prompt tokens are estimated from the donors' facts (characters / 4), and
    completion tokens from `completion_tokens_per_email`. `cost_usd` is None
    when the configured price table has no price for the model.
    """

    emails: int
    provider: str
    model: str
    prompt_tokens: int
    completion_tokens_per_email: int
    completion_from_previews: bool
    cost_usd: float | None

    @property
    def completion_tokens(self) -> int:
        return self.completion_tokens_per_email * self.emails

    @property
    def offline(self) -> bool:
        return self.provider == "offline"


def average_completion_tokens(previews: Sequence[EmailRow]) -> int | None:
    """Average completion tokens of drafted previews, or None if none has any."""
    counts = [row.completion_tokens for row in previews if row.completion_tokens > 0]
    if not counts:
        return None
    return math.ceil(sum(counts) / len(counts))


async def estimate_job(
    store: Store,
    settings: Settings,
    job: JobDetail,
    donor_ids: Sequence[int],
    previews: Sequence[EmailRow] = (),
) -> JobEstimate:
    """Estimate the tokens and cost of drafting the job's emails once each.

    Retries are not counted. The offline provider needs no tokens and costs
    nothing, so it is not estimated.
    """
    if job.provider == "offline":
        return JobEstimate(
            emails=len(donor_ids),
            provider=job.provider,
            model=job.model,
            prompt_tokens=0,
            completion_tokens_per_email=0,
            completion_from_previews=False,
            cost_usd=0.0,
        )
    org = OrgProfile.from_settings(settings)
    facts = await load_donor_facts(store, donor_ids)
    prompt_tokens = sum(
        estimate_prompt_tokens(donor, job.instruction, org) for donor in facts.values()
    )
    measured = average_completion_tokens(previews)
    per_email = ASSUMED_COMPLETION_TOKENS if measured is None else measured
    return JobEstimate(
        emails=len(donor_ids),
        provider=job.provider,
        model=job.model,
        prompt_tokens=prompt_tokens,
        completion_tokens_per_email=per_email,
        completion_from_previews=measured is not None,
        cost_usd=estimate_cost(
            settings, job.model, prompt_tokens, per_email * len(donor_ids)
        ),
    )


async def review_draft(
    runner: JobRunner, draft: WizardDraft, settings: Settings, today: dt.date
) -> tuple[JobDetail, JobEstimate]:
    """Save the draft job and estimate it, for the review step.

    The counts come from the saved job, so the review shows what will run.
    """
    job = await save_draft_job(runner.service, draft, settings, today)
    emails = await runner.service.list_emails(job.id, limit=None)
    donor_ids = [email.donor_id for email in emails]
    estimate = await estimate_job(
        runner.store, settings, job, donor_ids, draft.previews
    )
    return job, estimate
