"""The communications record: what was sent or exported to each donor, and when.

A thread groups the messages one donor received from one communication job, and its
subject is the subject of that job's email. Times are naive UTC, as the database
stores them. Functions here return frozen dataclasses, never ORM rows.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Select,
    and_,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from commjobs_tui.core.donors import display_name
from commjobs_tui.core.errors import NotFoundError, UserError
from commjobs_tui.db.models import (
    CommunicationMessage,
    CommunicationThread,
    Donor,
    EmailGenerationSession,
    GeneratedEmail,
)
from commjobs_tui.db.store import Store

log = logging.getLogger(__name__)

# Channels a person can record a sent email on. "export" is recorded by
# record_export only, because exporting a draft does not mean it was sent.
SENT_CHANNELS = ("email", "letter", "phone")
EXPORT_CHANNEL = "export"
CHANNELS = (*SENT_CHANNELS, EXPORT_CHANNEL)

_LIKE_ESCAPE = "\\"


@dataclass(frozen=True)
class MessageRow:
    """One recorded message, with its donor and the job that drafted it."""

    id: int
    thread_id: int
    donor_id: int
    donor_name: str
    channel: str
    subject: str | None
    body: str | None
    sent_at: dt.datetime
    job_id: int | None
    job_name: str | None


@dataclass(frozen=True)
class ThreadRow:
    """One thread with its donor and a summary of its messages.

    `last_sent_at` and `last_channel` are None for a thread without messages.
    """

    id: int
    donor_id: int
    donor_name: str
    donor_email: str | None
    subject: str | None
    message_count: int
    last_sent_at: dt.datetime | None
    last_channel: str | None


@dataclass(frozen=True)
class MarkSentResult:
    """Counts of the emails that one call to mark_job_sent looked at.

    `recorded` emails got a new message and a `sent_at`. `already_sent` emails had
    been marked before and were left as they were. `not_completed` emails are
    pending, generating or failed, so they were not marked.
    """

    recorded: int
    already_sent: int
    not_completed: int


@dataclass(frozen=True)
class _EmailToRecord:
    id: int
    donor_id: int
    subject: str | None
    body: str | None


def to_naive_utc(moment: dt.datetime) -> dt.datetime:
    """Convert an aware time to naive UTC. A naive time is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def _donor_name(row: Any) -> str:
    return display_name(
        row.first_name, row.last_name, row.organization_name, donor_id=row.donor_id
    )


def _like_patterns(text: str) -> list[str]:
    """Build LIKE patterns that find `text` anywhere, ignoring case.

    SQLite's LIKE ignores case for ASCII letters only, so the text is also searched
    in lower, upper and title case. That finds "José" for "JOSÉ", "ÓMAR" for "ómar"
    and "Ångström" for "ångström".
    """
    escaped = (
        text.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2)
        .replace("%", _LIKE_ESCAPE + "%")
        .replace("_", _LIKE_ESCAPE + "_")
    )
    # NOTE: a match whose non-ASCII letters fit none of the four forms is missed,
    # for example "McÉwan" searched as "mcéwan".
    variants = {escaped, escaped.lower(), escaped.upper(), escaped.title()}
    return sorted(f"%{variant}%" for variant in variants)


def _matches_any(
    haystack: ColumnElement[str], patterns: list[str]
) -> ColumnElement[bool]:
    return or_(*(haystack.like(pattern, escape=_LIKE_ESCAPE) for pattern in patterns))


def _joined_text(*columns: Any) -> ColumnElement[str]:
    """Concatenate nullable text columns with spaces, so one LIKE searches them all."""
    parts: list[ColumnElement[str]] = [func.coalesce(column, "") for column in columns]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + " " + part
    return joined


def _thread_select() -> Select[*tuple[Any, ...]]:
    message = CommunicationMessage
    summary = select(
        message.thread_id,
        message.sent_at,
        message.channel,
        func.row_number()
        .over(
            partition_by=message.thread_id,
            order_by=(message.sent_at.desc(), message.id.desc()),
        )
        .label("newest_rank"),
        func.count().over(partition_by=message.thread_id).label("message_count"),
    ).subquery("summary")

    thread = CommunicationThread
    return (
        select(
            thread.id,
            thread.donor_id,
            Donor.first_name,
            Donor.last_name,
            Donor.organization_name,
            Donor.email,
            thread.subject,
            func.coalesce(summary.c.message_count, 0).label("message_count"),
            summary.c.sent_at.label("last_sent_at"),
            summary.c.channel.label("last_channel"),
        )
        .join(Donor, Donor.id == thread.donor_id)
        .outerjoin(
            summary,
            and_(summary.c.thread_id == thread.id, summary.c.newest_rank == 1),
        )
        .order_by(summary.c.sent_at.desc().nulls_last(), thread.id.desc())
    )


async def list_threads(
    store: Store,
    *,
    text: str | None = None,
    channel: str | None = None,
    donor_id: int | None = None,
    since: dt.datetime | None = None,
    limit: int = 500,
    offset: int = 0,
) -> list[ThreadRow]:
    """List threads, most recently sent first, narrowed by the given filters.

    `text` matches the donor's name, organisation and email address, the thread
    subject, and the subject and body of any message in the thread. `channel` keeps
    threads with at least one message on that channel. `since` keeps threads whose
    newest message was sent at or after that time.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    if offset < 0:
        raise ValueError(f"offset must not be negative, got {offset}")

    statement = _thread_select()
    thread = CommunicationThread
    message = CommunicationMessage
    if donor_id is not None:
        statement = statement.where(thread.donor_id == donor_id)
    if channel:
        statement = statement.where(
            exists().where(message.thread_id == thread.id, message.channel == channel)
        )
    if since is not None:
        newest = select(func.max(message.sent_at)).where(message.thread_id == thread.id)
        statement = statement.where(newest.scalar_subquery() >= to_naive_utc(since))
    if text and text.strip():
        patterns = _like_patterns(text.strip())
        thread_text = _joined_text(
            Donor.first_name,
            Donor.last_name,
            Donor.organization_name,
            Donor.email,
            thread.subject,
        )
        message_text = _joined_text(message.subject, message.body)
        statement = statement.where(
            or_(
                _matches_any(thread_text, patterns),
                exists().where(
                    message.thread_id == thread.id,
                    _matches_any(message_text, patterns),
                ),
            )
        )

    async with store.session() as session:
        rows = (await session.execute(statement.limit(limit).offset(offset))).all()
    return [
        ThreadRow(
            id=row.id,
            donor_id=row.donor_id,
            donor_name=_donor_name(row),
            donor_email=row.email,
            subject=row.subject,
            message_count=row.message_count,
            last_sent_at=row.last_sent_at,
            last_channel=row.last_channel,
        )
        for row in rows
    ]


def _message_select() -> Select[*tuple[Any, ...]]:
    message = CommunicationMessage
    return (
        select(
            message.id,
            message.thread_id,
            CommunicationThread.donor_id,
            Donor.first_name,
            Donor.last_name,
            Donor.organization_name,
            message.channel,
            message.subject,
            message.body,
            message.sent_at,
            message.session_id,
            EmailGenerationSession.job_name,
        )
        .join(CommunicationThread, CommunicationThread.id == message.thread_id)
        .join(Donor, Donor.id == CommunicationThread.donor_id)
        .outerjoin(
            EmailGenerationSession,
            EmailGenerationSession.id == message.session_id,
        )
    )


def _message_row(row: Any) -> MessageRow:
    return MessageRow(
        id=row.id,
        thread_id=row.thread_id,
        donor_id=row.donor_id,
        donor_name=_donor_name(row),
        channel=row.channel,
        subject=row.subject,
        body=row.body,
        sent_at=row.sent_at,
        job_id=row.session_id,
        job_name=row.job_name,
    )


async def thread_messages(store: Store, thread_id: int) -> list[MessageRow]:
    """List the messages of one thread, oldest first.

    Raises NotFoundError if the thread does not exist.
    """
    message = CommunicationMessage
    statement = (
        _message_select()
        .where(message.thread_id == thread_id)
        .order_by(message.sent_at, message.id)
    )
    async with store.session() as session:
        if await session.get(CommunicationThread, thread_id) is None:
            raise NotFoundError(
                f"communication thread {thread_id} not found; it may have been "
                "deleted with its donor, so reload the list"
            )
        rows = (await session.execute(statement)).all()
    return [_message_row(row) for row in rows]


async def donor_messages(
    store: Store, donor_id: int, limit: int = 20
) -> list[MessageRow]:
    """List up to `limit` messages sent to one donor, newest first.

    Raises NotFoundError if the donor does not exist.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    message = CommunicationMessage
    statement = (
        _message_select()
        .where(CommunicationThread.donor_id == donor_id)
        .order_by(message.sent_at.desc(), message.id.desc())
        .limit(limit)
    )
    async with store.session() as session:
        if await session.get(Donor, donor_id) is None:
            raise NotFoundError(f"donor {donor_id} not found; reload the donor list")
        rows = (await session.execute(statement)).all()
    return [_message_row(row) for row in rows]


async def _require_job(session: AsyncSession, job_id: int) -> EmailGenerationSession:
    job = await session.get(EmailGenerationSession, job_id)
    if job is None:
        raise NotFoundError(
            f"communication job {job_id} not found; reload the job list and pick "
            "an existing job"
        )
    return job


async def _job_emails(
    session: AsyncSession, job_id: int, email_ids: Sequence[int] | None
) -> list[GeneratedEmail]:
    """Load the job's non-preview emails, or the given ones.

    Raises NotFoundError naming every id that is not a non-preview email of the job.
    """
    statement = select(GeneratedEmail).where(
        GeneratedEmail.session_id == job_id,
        GeneratedEmail.is_preview.is_(False),
    )
    if email_ids is not None:
        statement = statement.where(GeneratedEmail.id.in_(set(email_ids)))
    emails = list((await session.scalars(statement.order_by(GeneratedEmail.id))).all())

    if email_ids is not None:
        missing = sorted(set(email_ids) - {email.id for email in emails})
        if missing:
            listed = ", ".join(str(email_id) for email_id in missing)
            raise NotFoundError(
                f"emails {listed} are not emails of communication job {job_id}; "
                "reload the job and select its emails again"
            )
    return emails


async def _job_threads_by_donor(session: AsyncSession, job_id: int) -> dict[int, int]:
    """Map donor id to the id of the donor's thread for this job."""
    statement = (
        select(CommunicationThread.donor_id, func.min(CommunicationThread.id))
        .join(
            CommunicationMessage,
            CommunicationMessage.thread_id == CommunicationThread.id,
        )
        .where(CommunicationMessage.session_id == job_id)
        .group_by(CommunicationThread.donor_id)
    )
    rows = (await session.execute(statement)).all()
    return {donor_id: thread_id for donor_id, thread_id in rows}


async def _add_messages(
    session: AsyncSession,
    job_id: int,
    emails: Sequence[_EmailToRecord],
    *,
    channel: str,
    at: dt.datetime,
) -> None:
    """Add one message per email to the donor's thread for the job.

    A donor without a thread for this job gets one, titled with the email subject.
    """
    threads = await _job_threads_by_donor(session, job_id)
    for email in emails:
        thread_id = threads.get(email.donor_id)
        if thread_id is None:
            thread = CommunicationThread(donor_id=email.donor_id, subject=email.subject)
            session.add(thread)
            await session.flush()
            thread_id = thread.id
            threads[email.donor_id] = thread_id
        session.add(
            CommunicationMessage(
                thread_id=thread_id,
                channel=channel,
                direction="outbound",
                subject=email.subject,
                body=email.body,
                sent_at=at,
                session_id=job_id,
                generated_email_id=email.id,
            )
        )


async def mark_job_sent(
    store: Store,
    job_id: int,
    *,
    channel: str = "email",
    email_ids: Sequence[int] | None = None,
    at: dt.datetime,
) -> MarkSentResult:
    """Record the job's completed emails as sent on `channel` at time `at`.

    Marks every completed, non-preview email of the job, or only those in
    `email_ids`. Each one gets a message in the donor's thread for the job and its
    `GeneratedEmail.sent_at` set. An email marked before is left as it is, so
    calling this twice records nothing new. Pending, generating and failed emails
    are counted in the result and not marked.

    Raises NotFoundError if the job does not exist or an id in `email_ids` is not a
    non-preview email of the job, and UserError for an unknown channel.
    """
    if channel not in SENT_CHANNELS:
        raise UserError(
            f"unknown channel {channel!r} for a sent email; use one of "
            f"{', '.join(SENT_CHANNELS)}"
        )
    sent_at = to_naive_utc(at)

    already_sent = 0
    not_completed = 0
    newly_sent: list[_EmailToRecord] = []
    async with store.session() as session:
        await _require_job(session, job_id)
        for email in await _job_emails(session, job_id, email_ids):
            if email.status != "completed":
                not_completed += 1
                continue
            if email.sent_at is not None:
                already_sent += 1
                continue
            # The conditional update claims the email, so two processes marking
            # the same job at once cannot record it twice.
            claim = await session.execute(
                update(GeneratedEmail)
                .where(GeneratedEmail.id == email.id, GeneratedEmail.sent_at.is_(None))
                .values(sent_at=sent_at)
                .execution_options(synchronize_session=False)
            )
            if cast(CursorResult[Any], claim).rowcount == 0:
                already_sent += 1
                continue
            newly_sent.append(
                _EmailToRecord(email.id, email.donor_id, email.subject, email.body)
            )
        await _add_messages(session, job_id, newly_sent, channel=channel, at=sent_at)
        await session.commit()

    log.info(
        "marked %d emails of job %d as sent by %s (%d already sent, %d not completed)",
        len(newly_sent),
        job_id,
        channel,
        already_sent,
        not_completed,
    )
    return MarkSentResult(
        recorded=len(newly_sent),
        already_sent=already_sent,
        not_completed=not_completed,
    )


async def record_export(
    store: Store,
    job_id: int,
    *,
    fmt: str,
    at: dt.datetime,
    email_ids: Sequence[int] | None = None,
) -> int:
    """Record exported emails as "export" messages and return how many are new.

    Records every completed, non-preview email of the job, or only those in
    `email_ids` (pass `ExportResult.email_ids` to record exactly what was written).
    Each email gets at most one export message, at its first export, so exporting
    again records nothing new. Exporting does not set `GeneratedEmail.sent_at`.

    Raises NotFoundError if the job does not exist or an id in `email_ids` is not a
    non-preview email of the job.
    """
    exported_at = to_naive_utc(at)
    async with store.session() as session:
        await _require_job(session, job_id)
        emails = await _job_emails(session, job_id, email_ids)
        recorded_ids = set(
            (
                await session.scalars(
                    select(CommunicationMessage.generated_email_id).where(
                        CommunicationMessage.session_id == job_id,
                        CommunicationMessage.channel == EXPORT_CHANNEL,
                    )
                )
            ).all()
        )
        new_exports = [
            _EmailToRecord(email.id, email.donor_id, email.subject, email.body)
            for email in emails
            if email.status == "completed" and email.id not in recorded_ids
        ]
        await _add_messages(
            session, job_id, new_exports, channel=EXPORT_CHANNEL, at=exported_at
        )
        await session.commit()

    # NOTE: the format is logged but not stored, because communication_messages
    # has no column for it.
    log.info(
        "recorded %d exported emails of job %d as %s", len(new_exports), job_id, fmt
    )
    return len(new_exports)
