"""Typed SQLAlchemy models of the commjobs database."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Stable constraint names let Alembic's batch mode on SQLite find and alter them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JOB_NAME_MAX_LENGTH = 255


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime, default=utcnow, server_default=func.current_timestamp()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime,
        default=utcnow,
        onupdate=utcnow,
        server_default=func.current_timestamp(),
    )


class Donor(TimestampMixin, Base):
    """A person or organisation from the source CRM. Times are naive UTC."""

    __tablename__ = "donors"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    salutation: Mapped[str | None] = mapped_column(String(50))
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    organization_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    phone: Mapped[str | None] = mapped_column(String(50))
    street: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(100))
    notes: Mapped[str | None] = mapped_column(Text)
    # Comma-separated, as CRMs export them.
    tags: Mapped[str | None] = mapped_column(String(500))
    do_not_contact: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="0"
    )

    donations: Mapped[list[Donation]] = relationship(
        back_populates="donor", cascade="all, delete-orphan", passive_deletes=True
    )


class Donation(TimestampMixin, Base):
    """One gift. Amounts are integer cents."""

    __tablename__ = "donations"
    __table_args__ = (
        UniqueConstraint("donor_id", "source_ref"),
        # Covers the per-donor aggregates (last, largest, total gift) of donor lists.
        Index("ix_donations_donor_gift", "donor_id", "donated_on", "amount_cents"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    donor_id: Mapped[int] = mapped_column(
        ForeignKey("donors.id", ondelete="CASCADE"), index=True
    )
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(
        String(3), default="USD", server_default="USD"
    )
    donated_on: Mapped[dt.date] = mapped_column(Date, index=True)
    campaign: Mapped[str | None] = mapped_column(String(200))
    fund: Mapped[str | None] = mapped_column(String(200))
    # Identifies the gift in its source so that re-importing a file adds nothing.
    source_ref: Mapped[str | None] = mapped_column(String(200))

    donor: Mapped[Donor] = relationship(back_populates="donations")


class EmailGenerationSession(TimestampMixin, Base):
    """A communication job: one instruction, one email per selected donor."""

    __tablename__ = "email_generation_sessions"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'running', 'paused', 'completed', 'failed',"
            " 'cancelled', 'interrupted')",
            name="status",
        ),
        # Ids are never reused after a delete, so an old id (in a script, an
        # exported Message-ID) can never name a different job.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_name: Mapped[str] = mapped_column(String(JOB_NAME_MAX_LENGTH))
    instruction: Mapped[str] = mapped_column(Text)
    # List of {"instruction": str, "at": iso time, "preview_email_ids": [int]}.
    refinement_history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    preview_donor_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # How the donors were chosen: {"kind": "all" | "ids" | "filter", ...}.
    selection: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    total_count: Mapped[int] = mapped_column(Integer, default=0)
    completed_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    skipped_count: Mapped[int] = mapped_column(Integer, default=0)
    provider: Mapped[str] = mapped_column(String(20))
    model: Mapped[str] = mapped_column(String(100))
    concurrency: Mapped[int | None] = mapped_column(Integer)
    error_message: Mapped[str | None] = mapped_column(Text)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Lease of the process running the job; cleared when it stops.
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_pid: Mapped[int | None] = mapped_column(Integer)
    lease_host: Mapped[str | None] = mapped_column(String(255))
    lease_heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # "cancel" or "pause", set by any process and acted on by the lease holder.
    requested_action: Mapped[str | None] = mapped_column(String(20))

    emails: Mapped[list[GeneratedEmail]] = relationship(
        back_populates="session", cascade="all, delete-orphan", passive_deletes=True
    )


class GeneratedEmail(TimestampMixin, Base):
    """One drafted email for one donor within a job."""

    __tablename__ = "generated_emails"
    __table_args__ = (
        UniqueConstraint("session_id", "donor_id", "is_preview"),
        Index("ix_generated_emails_session_status", "session_id", "status"),
        CheckConstraint(
            "status IN ('pending', 'generating', 'completed', 'failed')",
            name="status",
        ),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("email_generation_sessions.id", ondelete="CASCADE")
    )
    donor_id: Mapped[int] = mapped_column(
        ForeignKey("donors.id", ondelete="CASCADE"), index=True
    )
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    error_kind: Mapped[str | None] = mapped_column(String(40))
    is_preview: Mapped[bool] = mapped_column(Boolean, default=False)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    generated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    session: Mapped[EmailGenerationSession] = relationship(back_populates="emails")


class CommunicationThread(TimestampMixin, Base):
    """Everything sent to one donor on one topic."""

    __tablename__ = "communication_threads"

    id: Mapped[int] = mapped_column(primary_key=True)
    donor_id: Mapped[int] = mapped_column(
        ForeignKey("donors.id", ondelete="CASCADE"), index=True
    )
    subject: Mapped[str | None] = mapped_column(String(300))

    messages: Mapped[list[CommunicationMessage]] = relationship(
        back_populates="thread", cascade="all, delete-orphan", passive_deletes=True
    )


class CommunicationMessage(TimestampMixin, Base):
    """One message in a thread: what was sent or exported, when, and how."""

    __tablename__ = "communication_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(
        ForeignKey("communication_threads.id", ondelete="CASCADE"), index=True
    )
    # "email" (sent from a mail client), "export", "letter", "phone".
    channel: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str] = mapped_column(
        String(10), default="outbound", server_default="outbound"
    )
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("email_generation_sessions.id", ondelete="SET NULL")
    )
    generated_email_id: Mapped[int | None] = mapped_column(
        ForeignKey("generated_emails.id", ondelete="SET NULL")
    )

    thread: Mapped[CommunicationThread] = relationship(back_populates="messages")
