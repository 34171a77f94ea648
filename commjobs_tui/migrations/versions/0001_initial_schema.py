"""Create the initial schema (communication jobs have no name yet).

Revision ID: 0001
Revises:
Create Date: 2026-12-04 15:48:15.177550
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "donors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=True),
        sa.Column("salutation", sa.String(length=50), nullable=True),
        sa.Column("first_name", sa.String(length=100), nullable=True),
        sa.Column("last_name", sa.String(length=100), nullable=True),
        sa.Column("organization_name", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=50), nullable=True),
        sa.Column("street", sa.String(length=300), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("state", sa.String(length=100), nullable=True),
        sa.Column("postal_code", sa.String(length=20), nullable=True),
        sa.Column("country", sa.String(length=100), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("tags", sa.String(length=500), nullable=True),
        sa.Column("do_not_contact", sa.Boolean(), server_default="0", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_donors")),
        sa.UniqueConstraint("external_id", name=op.f("uq_donors_external_id")),
    )
    with op.batch_alter_table("donors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_donors_email"), ["email"], unique=False)

    op.create_table(
        "email_generation_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instruction", sa.Text(), nullable=False),
        sa.Column("refinement_history", sa.JSON(), nullable=False),
        sa.Column("preview_donor_ids", sa.JSON(), nullable=False),
        sa.Column("selection", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("total_count", sa.Integer(), nullable=False),
        sa.Column("completed_count", sa.Integer(), nullable=False),
        sa.Column("failed_count", sa.Integer(), nullable=False),
        sa.Column("skipped_count", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("concurrency", sa.Integer(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("lease_owner", sa.String(length=200), nullable=True),
        sa.Column("lease_pid", sa.Integer(), nullable=True),
        sa.Column("lease_host", sa.String(length=255), nullable=True),
        sa.Column("lease_heartbeat_at", sa.DateTime(), nullable=True),
        sa.Column("requested_action", sa.String(length=20), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'paused', 'completed', 'failed',"
            " 'cancelled', 'interrupted')",
            name=op.f("ck_email_generation_sessions_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_generation_sessions")),
    )
    with op.batch_alter_table("email_generation_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_email_generation_sessions_status"), ["status"], unique=False
        )

    op.create_table(
        "communication_threads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("donor_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["donor_id"],
            ["donors.id"],
            name=op.f("fk_communication_threads_donor_id_donors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_communication_threads")),
    )
    with op.batch_alter_table("communication_threads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_communication_threads_donor_id"), ["donor_id"], unique=False
        )

    op.create_table(
        "donations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("donor_id", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column(
            "currency", sa.String(length=3), server_default="USD", nullable=False
        ),
        sa.Column("donated_on", sa.Date(), nullable=False),
        sa.Column("campaign", sa.String(length=200), nullable=True),
        sa.Column("fund", sa.String(length=200), nullable=True),
        sa.Column("source_ref", sa.String(length=200), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["donor_id"],
            ["donors.id"],
            name=op.f("fk_donations_donor_id_donors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_donations")),
        sa.UniqueConstraint(
            "donor_id", "source_ref", name=op.f("uq_donations_donor_id_source_ref")
        ),
    )
    with op.batch_alter_table("donations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_donations_donated_on"), ["donated_on"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_donations_donor_id"), ["donor_id"], unique=False
        )

    op.create_table(
        "generated_emails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("donor_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("error_kind", sa.String(length=40), nullable=True),
        sa.Column("is_preview", sa.Boolean(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("generated_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'generating', 'completed', 'failed')",
            name=op.f("ck_generated_emails_status"),
        ),
        sa.ForeignKeyConstraint(
            ["donor_id"],
            ["donors.id"],
            name=op.f("fk_generated_emails_donor_id_donors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["email_generation_sessions.id"],
            name=op.f("fk_generated_emails_session_id_email_generation_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_generated_emails")),
        sa.UniqueConstraint(
            "session_id",
            "donor_id",
            "is_preview",
            name=op.f("uq_generated_emails_session_id_donor_id_is_preview"),
        ),
    )
    with op.batch_alter_table("generated_emails", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_generated_emails_donor_id"), ["donor_id"], unique=False
        )
        batch_op.create_index(
            "ix_generated_emails_session_status", ["session_id", "status"], unique=False
        )

    op.create_table(
        "communication_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column(
            "direction", sa.String(length=10), server_default="outbound", nullable=False
        ),
        sa.Column("subject", sa.String(length=300), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("generated_email_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["generated_email_id"],
            ["generated_emails.id"],
            name=op.f("fk_communication_messages_generated_email_id_generated_emails"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["email_generation_sessions.id"],
            name=op.f("fk_communication_messages_session_id_email_generation_sessions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["communication_threads.id"],
            name=op.f("fk_communication_messages_thread_id_communication_threads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_communication_messages")),
    )
    with op.batch_alter_table("communication_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_communication_messages_sent_at"), ["sent_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_communication_messages_thread_id"),
            ["thread_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("communication_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_communication_messages_thread_id"))
        batch_op.drop_index(batch_op.f("ix_communication_messages_sent_at"))

    op.drop_table("communication_messages")
    with op.batch_alter_table("generated_emails", schema=None) as batch_op:
        batch_op.drop_index("ix_generated_emails_session_status")
        batch_op.drop_index(batch_op.f("ix_generated_emails_donor_id"))

    op.drop_table("generated_emails")
    with op.batch_alter_table("donations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_donations_donor_id"))
        batch_op.drop_index(batch_op.f("ix_donations_donated_on"))

    op.drop_table("donations")
    with op.batch_alter_table("communication_threads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_communication_threads_donor_id"))

    op.drop_table("communication_threads")
    with op.batch_alter_table("email_generation_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_email_generation_sessions_status"))

    op.drop_table("email_generation_sessions")
    with op.batch_alter_table("donors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_donors_email"))

    op.drop_table("donors")
