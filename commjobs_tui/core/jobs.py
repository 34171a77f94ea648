"""Communication jobs: create, list, show, and change state. Returns dataclasses.

The counters on a job row are recomputed from its email rows in the same transaction
as every change to those rows, so they always agree.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import case, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from commjobs_tui.core.donors import display_name
from commjobs_tui.core.errors import ConflictError, NotFoundError, UserError
from commjobs_tui.core.settings import Settings
from commjobs_tui.db.models import (
    JOB_NAME_MAX_LENGTH,
    Donor,
    EmailGenerationSession,
    GeneratedEmail,
)
from commjobs_tui.db.store import Store

log = logging.getLogger(__name__)

JobStatus = Literal[
    "pending", "running", "paused", "completed", "failed", "cancelled", "interrupted"
]
JOB_STATUSES: tuple[JobStatus, ...] = (
    "pending",
    "running",
    "paused",
    "completed",
    "failed",
    "cancelled",
    "interrupted",
)
PROVIDERS = ("offline", "openai")
# Columns the job list can be sorted by; None values sort last either way.
JOB_SORT_COLUMNS: dict[str, Any] = {
    "id": EmailGenerationSession.id,
    "name": func.lower(EmailGenerationSession.job_name),
    "status": EmailGenerationSession.status,
    "total": EmailGenerationSession.total_count,
    "completed": EmailGenerationSession.completed_count,
    "failed": EmailGenerationSession.failed_count,
    "progress": case(
        (EmailGenerationSession.total_count == 0, None),
        else_=(
            (
                EmailGenerationSession.completed_count
                + EmailGenerationSession.failed_count
            )
            * 1.0
            / EmailGenerationSession.total_count
        ),
    ),
    "created_at": EmailGenerationSession.created_at,
    "started_at": EmailGenerationSession.started_at,
    "finished_at": EmailGenerationSession.finished_at,
    "duration": func.julianday(EmailGenerationSession.finished_at)
    - func.julianday(EmailGenerationSession.started_at),
    "provider": EmailGenerationSession.provider,
    "model": EmailGenerationSession.model,
}


@dataclass(frozen=True)
class JobSummary:
    """One job as the job list shows it. Times are naive UTC."""

    id: int
    name: str
    status: str
    total: int
    completed: int
    failed: int
    skipped: int
    provider: str
    model: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    updated_at: dt.datetime
    error: str | None
    prompt_tokens: int
    completion_tokens: int
    estimated_cost_usd: float | None
    requested_action: str | None
    lease_host: str | None
    lease_pid: int | None

    @property
    def pending(self) -> int:
        return max(0, self.total - self.completed - self.failed)

    @property
    def done(self) -> int:
        return self.completed + self.failed

    @property
    def is_active(self) -> bool:
        return self.status == "running"


@dataclass(frozen=True)
class JobDetail(JobSummary):
    """A job with its instruction, refinement history and failure breakdown."""

    instruction: str = ""
    refinement_history: tuple[dict[str, Any], ...] = ()
    preview_donor_ids: tuple[int, ...] = ()
    selection: dict[str, Any] = field(default_factory=dict)
    concurrency: int | None = None
    error_kinds: dict[str, int] = field(default_factory=dict)
    preview_count: int = 0


@dataclass(frozen=True)
class EmailRow:
    """One drafted email with its donor's name and address."""

    id: int
    job_id: int
    donor_id: int
    donor_name: str
    donor_email: str | None
    status: str
    attempts: int
    error_kind: str | None
    last_error: str | None
    subject: str | None
    body: str | None
    is_preview: bool
    generated_at: dt.datetime | None
    sent_at: dt.datetime | None
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class DonorSelection:
    """Donor choice of a job: every donor, a list of ids, or a saved filter."""

    kind: Literal["all", "ids", "filter"]
    ids: tuple[int, ...] = ()
    text: str | None = None
    segment: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "ids": list(self.ids),
            "text": self.text,
            "segment": self.segment,
        }


def validate_job_name(raw: str) -> str:
    """Trim a job name; raise UserError if it is empty or too long."""
    name = " ".join(raw.split())
    if not name:
        raise UserError(
            "job name is empty; give the job a name such as 'Spring thank-you'"
        )
    if len(name) > JOB_NAME_MAX_LENGTH:
        raise UserError(
            f"job name is {len(name)} characters long; shorten it to at most "
            f"{JOB_NAME_MAX_LENGTH}"
        )
    return name


# Instructions go into every prompt; 20,000 characters is about 5,000 tokens.
INSTRUCTION_MAX_LENGTH = 20_000


def validate_instruction(raw: str) -> str:
    text = raw.strip()
    if len(text) > INSTRUCTION_MAX_LENGTH:
        raise UserError(
            f"instructions are {len(text):,} characters long; shorten them to at "
            f"most {INSTRUCTION_MAX_LENGTH:,}, because they go into every prompt"
        )
    if not text:
        raise UserError(
            "instructions are empty; say what the email should do, for example "
            "'Thank each donor for their most recent gift'"
        )
    return text


def estimate_cost(
    settings: Settings, model: str, prompt_tokens: int, completion_tokens: int
) -> float | None:
    """Estimated US dollars from the configured price table; None for unknown models."""
    price = settings.price_for(model)
    if price is None:
        return None
    return (
        prompt_tokens * price.input_per_million
        + completion_tokens * price.output_per_million
    ) / 1_000_000


class JobService:
    """Reads and changes jobs. State changes that need a running engine go through
    the JobRunner, which uses this service."""

    def __init__(
        self, store: Store, settings: Settings, clock: Callable[[], dt.datetime]
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock

    # Reading -------------------------------------------------------------

    def _summary_kwargs(self, job: EmailGenerationSession) -> dict[str, Any]:
        return {
            "id": job.id,
            "name": job.job_name,
            "status": job.status,
            "total": job.total_count,
            "completed": job.completed_count,
            "failed": job.failed_count,
            "skipped": job.skipped_count,
            "provider": job.provider,
            "model": job.model,
            "created_at": job.created_at,
            "started_at": job.started_at,
            "finished_at": job.finished_at,
            "updated_at": job.updated_at,
            "error": job.error_message,
            "prompt_tokens": job.prompt_tokens,
            "completion_tokens": job.completion_tokens,
            "estimated_cost_usd": estimate_cost(
                self.settings, job.model, job.prompt_tokens, job.completion_tokens
            ),
            "requested_action": job.requested_action,
            "lease_host": job.lease_host,
            "lease_pid": job.lease_pid,
        }

    @staticmethod
    def _conditions(statuses: Sequence[str] | None, text: str | None) -> list[Any]:
        conditions: list[Any] = []
        if statuses:
            conditions.append(EmailGenerationSession.status.in_(list(statuses)))
        if text and text.strip():
            needle = f"%{_escape_like(text.strip().lower())}%"
            conditions.append(
                func.lower(EmailGenerationSession.job_name).like(needle, escape="\\")
            )
        return conditions

    async def list_jobs(
        self,
        *,
        statuses: Sequence[str] | None = None,
        text: str | None = None,
        sort: str = "created_at",
        descending: bool = True,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[JobSummary]:
        """List jobs filtered by status and name text, sorted with empty values last."""
        column = JOB_SORT_COLUMNS.get(sort)
        if column is None:
            raise UserError(
                f"cannot sort jobs by {sort!r}; "
                f"use one of {', '.join(JOB_SORT_COLUMNS)}"
            )
        order = column.desc() if descending else column.asc()
        tiebreak = (
            EmailGenerationSession.id.desc()
            if descending
            else EmailGenerationSession.id.asc()
        )
        query = (
            select(EmailGenerationSession)
            .where(*self._conditions(statuses, text))
            .order_by(column.is_(None), order, tiebreak)
            .offset(offset)
        )
        if limit is not None:
            query = query.limit(limit)
        async with self.store.session() as session:
            jobs = (await session.scalars(query)).all()
            return [JobSummary(**self._summary_kwargs(job)) for job in jobs]

    async def count_jobs(
        self, *, statuses: Sequence[str] | None = None, text: str | None = None
    ) -> int:
        query = (
            select(func.count())
            .select_from(EmailGenerationSession)
            .where(*self._conditions(statuses, text))
        )
        async with self.store.session() as session:
            return int((await session.execute(query)).scalar_one())

    async def status_counts(self) -> dict[str, int]:
        query = select(EmailGenerationSession.status, func.count()).group_by(
            EmailGenerationSession.status
        )
        async with self.store.session() as session:
            return {status: count for status, count in (await session.execute(query))}

    async def get_job(self, job_id: int) -> JobDetail:
        async with self.store.session() as session:
            job = await _load_job(session, job_id)
            kinds_query = (
                select(GeneratedEmail.error_kind, func.count())
                .where(
                    GeneratedEmail.session_id == job_id,
                    GeneratedEmail.status == "failed",
                    GeneratedEmail.is_preview.is_(False),
                )
                .group_by(GeneratedEmail.error_kind)
            )
            kinds = {
                (kind or "unknown"): count
                for kind, count in (await session.execute(kinds_query))
            }
            previews = await session.scalar(
                select(func.count()).where(
                    GeneratedEmail.session_id == job_id,
                    GeneratedEmail.is_preview.is_(True),
                )
            )
            return JobDetail(
                **self._summary_kwargs(job),
                instruction=job.instruction,
                refinement_history=tuple(job.refinement_history or ()),
                preview_donor_ids=tuple(job.preview_donor_ids or ()),
                selection=dict(job.selection or {}),
                concurrency=job.concurrency,
                error_kinds=kinds,
                preview_count=int(previews or 0),
            )

    async def find_jobs_named(self, name: str) -> list[int]:
        """Ids of jobs whose name equals `name`, ignoring case and outer spaces."""
        query = select(EmailGenerationSession.id).where(
            func.lower(EmailGenerationSession.job_name)
            == " ".join(name.split()).lower()
        )
        async with self.store.session() as session:
            return list((await session.scalars(query)).all())

    async def list_emails(
        self,
        job_id: int,
        *,
        statuses: Sequence[str] | None = None,
        error_kind: str | None = None,
        preview: bool = False,
        limit: int | None = 200,
        offset: int = 0,
    ) -> list[EmailRow]:
        """List a page of a job's emails by id; previews only when `preview` is set."""
        query = (
            select(GeneratedEmail, Donor)
            .join(Donor, Donor.id == GeneratedEmail.donor_id)
            .where(
                GeneratedEmail.session_id == job_id,
                GeneratedEmail.is_preview.is_(preview),
            )
            .order_by(GeneratedEmail.id)
            .offset(offset)
        )
        if statuses:
            query = query.where(GeneratedEmail.status.in_(list(statuses)))
        if error_kind is not None:
            query = query.where(GeneratedEmail.error_kind == error_kind)
        if limit is not None:
            query = query.limit(limit)
        async with self.store.session() as session:
            rows = (await session.execute(query)).all()
            return [_email_row(email, donor) for email, donor in rows]

    async def count_emails(
        self,
        job_id: int,
        *,
        statuses: Sequence[str] | None = None,
        preview: bool = False,
    ) -> int:
        query = select(func.count()).where(
            GeneratedEmail.session_id == job_id,
            GeneratedEmail.is_preview.is_(preview),
        )
        if statuses:
            query = query.where(GeneratedEmail.status.in_(list(statuses)))
        async with self.store.session() as session:
            return int((await session.execute(query)).scalar_one())

    async def get_emails(self, job_id: int, email_ids: Sequence[int]) -> list[EmailRow]:
        """Return the job's emails with these ids in id order; unknown ids are left out.

        Screens use it to refresh the rows that a running job has just written.
        """
        rows: list[EmailRow] = []
        async with self.store.session() as session:
            for chunk in _chunks(sorted(set(email_ids)), 500):
                query = (
                    select(GeneratedEmail, Donor)
                    .join(Donor, Donor.id == GeneratedEmail.donor_id)
                    .where(
                        GeneratedEmail.session_id == job_id,
                        GeneratedEmail.id.in_(list(chunk)),
                    )
                    .order_by(GeneratedEmail.id)
                )
                result = (await session.execute(query)).all()
                rows.extend(_email_row(email, donor) for email, donor in result)
        return rows

    async def sent_counts(self, job_id: int) -> tuple[int, int]:
        """Return (completed emails not yet marked sent, emails marked sent).

        Preview emails are not counted.
        """
        query = select(
            func.coalesce(
                func.sum(
                    case(
                        (
                            (GeneratedEmail.status == "completed")
                            & GeneratedEmail.sent_at.is_(None),
                            1,
                        ),
                        else_=0,
                    )
                ),
                0,
            ),
            func.coalesce(
                func.sum(case((GeneratedEmail.sent_at.is_not(None), 1), else_=0)), 0
            ),
        ).where(
            GeneratedEmail.session_id == job_id,
            GeneratedEmail.is_preview.is_(False),
        )
        async with self.store.session() as session:
            unsent, sent = (await session.execute(query)).one()
        return int(unsent), int(sent)

    # Creating ------------------------------------------------------------

    async def resolve_selection(
        self, selection: DonorSelection, today: dt.date
    ) -> tuple[list[int], int]:
        """Return eligible donor ids and how many were left out.

        Donors marked do-not-contact are left out. So are donors whose email lacks
        an "@" with text on both sides, the same test as `has_email_address` in
        core/donors.py.
        """
        async with self.store.session() as session:
            if selection.kind == "all":
                ids = list(
                    (await session.scalars(select(Donor.id).order_by(Donor.id))).all()
                )
            elif selection.kind == "ids":
                ids = sorted(set(selection.ids))
                found = set(
                    (
                        await session.scalars(select(Donor.id).where(Donor.id.in_(ids)))
                    ).all()
                )
                missing = [i for i in ids if i not in found]
                if missing:
                    shown = ", ".join(str(i) for i in missing[:10])
                    raise UserError(
                        f"no donor with id {shown}; "
                        "list donors with `commjobs donors list`"
                    )
            else:
                ids = await _filter_ids(self.store, selection, today)
            eligible: list[int] = []
            for chunk in _chunks(ids, 500):
                query = select(Donor.id).where(
                    Donor.id.in_(chunk),
                    # "_" matches one character: an "@" with text on both sides.
                    func.coalesce(func.trim(Donor.email), "").like("%_@_%"),
                    Donor.do_not_contact.is_(False),
                )
                eligible.extend((await session.scalars(query)).all())
        eligible.sort()
        return eligible, len(ids) - len(eligible)

    async def create_job(
        self,
        *,
        name: str,
        instruction: str,
        selection: DonorSelection,
        provider: str,
        model: str,
        concurrency: int | None = None,
        today: dt.date | None = None,
    ) -> JobDetail:
        """Create a pending job with one pending email per eligible donor."""
        job_name = validate_job_name(name)
        text = validate_instruction(instruction)
        if provider not in PROVIDERS:
            raise UserError(
                f"unknown provider {provider!r}; use one of {', '.join(PROVIDERS)}"
            )
        if concurrency is not None and not 1 <= concurrency <= 256:
            raise UserError(f"concurrency {concurrency} is out of range; use 1 to 256")
        today = today or self.clock().date()
        eligible, skipped = await self.resolve_selection(selection, today)
        if not eligible:
            selected = skipped
            raise UserError(
                f"none of the {selected} selected donors can be emailed (no email "
                "address, or marked do-not-contact); select other donors"
                if selected
                else "no donors selected; import donors or change the selection"
            )
        now = self.clock()
        async with self.store.session() as session, session.begin():
            job = EmailGenerationSession(
                job_name=job_name,
                instruction=text,
                refinement_history=[],
                preview_donor_ids=[],
                selection=selection.to_json(),
                status="pending",
                total_count=len(eligible),
                skipped_count=skipped,
                provider=provider,
                model="offline" if provider == "offline" else model,
                concurrency=concurrency,
                created_at=now,
                updated_at=now,
            )
            session.add(job)
            await session.flush()
            await _insert_pending_emails(session, job.id, eligible, now)
            job_id = job.id
        log.info(
            "created job %s with %d emails (%d left out)",
            job_id,
            len(eligible),
            skipped,
        )
        return await self.get_job(job_id)

    async def replace_selection(
        self,
        job_id: int,
        selection: DonorSelection,
        *,
        today: dt.date | None = None,
    ) -> JobDetail:
        """Give a pending job that has never started a new donor selection.

        The job's emails are replaced by one pending email per eligible donor.
        Preview emails of donors that are no longer eligible are deleted and their
        ids leave `preview_donor_ids`. Raises ConflictError once the job has
        started, and UserError when no selected donor can be emailed.
        """
        today = today or self.clock().date()
        eligible, skipped = await self.resolve_selection(selection, today)
        if not eligible:
            raise UserError(
                f"none of the {skipped} selected donors can be emailed (no email "
                "address, or marked do-not-contact); select other donors"
                if skipped
                else "no donors selected; select at least one donor"
            )
        now = self.clock()
        async with self.store.session() as session, session.begin():
            job = await _load_job(session, job_id)
            if job.status != "pending" or job.started_at is not None:
                raise ConflictError(
                    f"job {job_id} has already started; its donors can no longer "
                    "change (create a new job instead)"
                )
            kept = set(eligible)
            previews = await session.execute(
                select(GeneratedEmail.id, GeneratedEmail.donor_id).where(
                    GeneratedEmail.session_id == job_id,
                    GeneratedEmail.is_preview.is_(True),
                )
            )
            stale_previews = [
                email_id for email_id, donor_id in previews if donor_id not in kept
            ]
            await session.execute(
                delete(GeneratedEmail).where(
                    GeneratedEmail.session_id == job_id,
                    GeneratedEmail.is_preview.is_(False)
                    | GeneratedEmail.id.in_(stale_previews),
                )
            )
            await _insert_pending_emails(session, job_id, eligible, now)
            job.preview_donor_ids = [
                donor_id for donor_id in job.preview_donor_ids or [] if donor_id in kept
            ]
            job.selection = selection.to_json()
            job.skipped_count = skipped
            job.updated_at = now
            await refresh_counts(session, job_id)
        log.info(
            "job %s now has %d emails (%d left out)", job_id, len(eligible), skipped
        )
        return await self.get_job(job_id)

    async def update_instruction(self, job_id: int, instruction: str) -> JobDetail:
        """Change a job's instruction before it has generated any email."""
        text = validate_instruction(instruction)
        async with self.store.session() as session, session.begin():
            job = await _load_job(session, job_id)
            if job.status != "pending" or job.started_at is not None:
                raise ConflictError(
                    f"job {job_id} has already started; its instructions can no longer "
                    "change (create a new job instead)"
                )
            job.instruction = text
            job.updated_at = self.clock()
        return await self.get_job(job_id)

    async def rename_job(self, job_id: int, name: str) -> JobDetail:
        job_name = validate_job_name(name)
        async with self.store.session() as session, session.begin():
            job = await _load_job(session, job_id)
            job.job_name = job_name
            job.updated_at = self.clock()
        return await self.get_job(job_id)

    # State changes that need no engine --------------------------------------

    async def request_action(
        self, job_id: int, action: Literal["cancel", "pause"]
    ) -> None:
        """Ask the process holding a running job's lease to cancel or pause it."""
        async with self.store.session() as session, session.begin():
            job = await _load_job(session, job_id)
            if job.status != "running":
                raise ConflictError(f"job {job_id} is {job.status}, not running")
            job.requested_action = action

    async def cancel_idle(self, job_id: int) -> JobDetail:
        """Cancel a job that is not running: pending, paused or interrupted."""
        async with self.store.session() as session, session.begin():
            job = await _load_job(session, job_id)
            if job.status not in ("pending", "paused", "interrupted"):
                raise ConflictError(_cannot(job, "cancel"))
            await _reset_generating(session, job_id)
            job.status = "cancelled"
            job.finished_at = self.clock()
            job.requested_action = None
            await refresh_counts(session, job_id)
        return await self.get_job(job_id)

    async def pause_idle(self, job_id: int) -> JobDetail:
        """Pause a pending job so it waits until resumed."""
        async with self.store.session() as session, session.begin():
            job = await _load_job(session, job_id)
            if job.status != "pending":
                raise ConflictError(_cannot(job, "pause"))
            job.status = "paused"
        return await self.get_job(job_id)

    async def prepare_retry(
        self,
        job_id: int,
        *,
        full: bool,
        error_kind: str | None = None,
        email_ids: Sequence[int] | None = None,
    ) -> int:
        """Reset emails for a retry and set the job pending; return how many will run.

        Partial: failed emails go back to pending, completed ones stay. Full: every
        email of the job is discarded and drafted again. `error_kind` limits a
        partial retry to failures of that kind. `email_ids` limits either kind of
        retry to those emails, so regenerating one email is a full retry of one id.
        """
        now = self.clock()
        async with self.store.session() as session, session.begin():
            job = await _load_job(session, job_id)
            if job.status == "running":
                raise ConflictError(
                    f"job {job_id} is running; wait for it to finish or cancel it first"
                )
            targets = ["pending", "generating", "failed"]
            if full:
                targets.append("completed")
            conditions = [
                GeneratedEmail.session_id == job_id,
                GeneratedEmail.is_preview.is_(False),
                GeneratedEmail.status.in_(targets),
            ]
            if error_kind is not None:
                conditions.append(GeneratedEmail.error_kind == error_kind)
            if email_ids is not None:
                conditions.append(GeneratedEmail.id.in_(list(email_ids)))
            # Redrafting chosen emails keeps each old draft until a new one is
            # written, so a failed redraft loses nothing; a full retry discards.
            discard: dict[str, Any] = (
                {
                    "subject": None,
                    "body": None,
                    "prompt_tokens": 0,
                    "completion_tokens": 0,
                    "generated_at": None,
                    "sent_at": None,
                }
                if full and email_ids is None
                else {}
            )
            reset = await session.execute(
                update(GeneratedEmail)
                .where(*conditions)
                .values(
                    status="pending",
                    attempts=0,
                    last_error=None,
                    error_kind=None,
                    updated_at=now,
                    **discard,
                )
            )
            count = int(getattr(reset, "rowcount", 0) or 0)
            pending = await session.scalar(
                select(func.count()).where(
                    GeneratedEmail.session_id == job_id,
                    GeneratedEmail.is_preview.is_(False),
                    GeneratedEmail.status == "pending",
                )
            )
            if not pending:
                what = (
                    f"failed emails of kind {error_kind!r}"
                    if error_kind
                    else ("failed emails")
                )
                raise ConflictError(
                    f"job {job_id} has no {what} to retry; use a full retry to "
                    "draft every email again"
                )
            job.status = "pending"
            job.error_message = None
            job.finished_at = None
            job.requested_action = None
            await refresh_counts(session, job_id)
        log.info(
            "job %s reset %d emails for a %s retry",
            job_id,
            count,
            "full" if full else "partial",
        )
        return int(pending)

    async def delete_idle(self, job_ids: Sequence[int]) -> int:
        """Delete idle jobs and their emails; return how many emails went."""
        async with self.store.session() as session, session.begin():
            running = (
                await session.scalars(
                    select(EmailGenerationSession.id).where(
                        EmailGenerationSession.id.in_(list(job_ids)),
                        EmailGenerationSession.status == "running",
                    )
                )
            ).all()
            if running:
                raise ConflictError(
                    f"job {running[0]} is running; cancel it before deleting"
                )
            emails = await session.scalar(
                select(func.count()).where(GeneratedEmail.session_id.in_(list(job_ids)))
            )
            await session.execute(
                delete(EmailGenerationSession).where(
                    EmailGenerationSession.id.in_(list(job_ids))
                )
            )
        log.info("deleted jobs %s", ", ".join(str(i) for i in job_ids))
        return int(emails or 0)

    async def deletion_impact(self, job_ids: Sequence[int]) -> tuple[int, int, int]:
        """Return (jobs found, of them running, generated emails that would be lost)."""
        async with self.store.session() as session:
            found = (
                await session.execute(
                    select(
                        EmailGenerationSession.id, EmailGenerationSession.status
                    ).where(EmailGenerationSession.id.in_(list(job_ids)))
                )
            ).all()
            generated = await session.scalar(
                select(func.count()).where(
                    GeneratedEmail.session_id.in_(list(job_ids)),
                    GeneratedEmail.status == "completed",
                )
            )
        running = sum(1 for _, status in found if status == "running")
        return len(found), running, int(generated or 0)


async def _load_job(session: AsyncSession, job_id: int) -> EmailGenerationSession:
    job = await session.get(EmailGenerationSession, job_id, populate_existing=True)
    if job is None:
        raise NotFoundError(
            f"no job with id {job_id}; list jobs with `commjobs jobs list`"
        )
    return job


async def _insert_pending_emails(
    session: AsyncSession, job_id: int, donor_ids: Sequence[int], now: dt.datetime
) -> None:
    rows = [
        {
            "session_id": job_id,
            "donor_id": donor_id,
            "status": "pending",
            "is_preview": False,
            "created_at": now,
            "updated_at": now,
        }
        for donor_id in donor_ids
    ]
    for chunk in _chunks(rows, 2000):
        await session.execute(insert(GeneratedEmail), chunk)


def _cannot(job: EmailGenerationSession, verb: str) -> str:
    return f"cannot {verb} job {job.id}: it is {job.status}"


async def _reset_generating(session: AsyncSession, job_id: int) -> None:
    await session.execute(
        update(GeneratedEmail)
        .where(
            GeneratedEmail.session_id == job_id, GeneratedEmail.status == "generating"
        )
        .values(status="pending")
    )


async def refresh_counts(session: AsyncSession, job_id: int) -> tuple[int, int, int]:
    """Recompute a job's counters and token sums from its emails; return them."""
    query = select(
        func.count(),
        func.coalesce(
            func.sum(case((GeneratedEmail.status == "completed", 1), else_=0)), 0
        ),
        func.coalesce(
            func.sum(case((GeneratedEmail.status == "failed", 1), else_=0)), 0
        ),
        func.coalesce(func.sum(GeneratedEmail.prompt_tokens), 0),
        func.coalesce(func.sum(GeneratedEmail.completion_tokens), 0),
    ).where(GeneratedEmail.session_id == job_id, GeneratedEmail.is_preview.is_(False))
    total, completed, failed, prompt, completion = (await session.execute(query)).one()
    previews = (
        await session.execute(
            select(
                func.coalesce(func.sum(GeneratedEmail.prompt_tokens), 0),
                func.coalesce(func.sum(GeneratedEmail.completion_tokens), 0),
            ).where(
                GeneratedEmail.session_id == job_id, GeneratedEmail.is_preview.is_(True)
            )
        )
    ).one()
    await session.execute(
        update(EmailGenerationSession)
        .where(EmailGenerationSession.id == job_id)
        .values(
            total_count=total,
            completed_count=completed,
            failed_count=failed,
            prompt_tokens=prompt + previews[0],
            completion_tokens=completion + previews[1],
        )
    )
    return int(total), int(completed), int(failed)


def _email_row(email: GeneratedEmail, donor: Donor) -> EmailRow:
    return EmailRow(
        id=email.id,
        job_id=email.session_id,
        donor_id=email.donor_id,
        donor_name=display_name(
            donor.first_name,
            donor.last_name,
            donor.organization_name,
            salutation=donor.salutation,
            donor_id=donor.id,
        ),
        donor_email=donor.email,
        status=email.status,
        attempts=email.attempts,
        error_kind=email.error_kind,
        last_error=email.last_error,
        subject=email.subject,
        body=email.body,
        is_preview=email.is_preview,
        generated_at=email.generated_at,
        sent_at=email.sent_at,
        prompt_tokens=email.prompt_tokens,
        completion_tokens=email.completion_tokens,
    )


async def _filter_ids(
    store: Store, selection: DonorSelection, today: dt.date
) -> list[int]:
    from commjobs_tui.core.donors import DonorSegment, list_donors

    segment = DonorSegment(**selection.segment) if selection.segment else None
    rows = await list_donors(store, text=selection.text, segment=segment, today=today)
    return sorted(row.id for row in rows)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
