"""Add email_generation_sessions.job_name, filling old rows with a numbered name.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 16:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # SQLite cannot add a NOT NULL column without a default, so the column is added
    # nullable, filled, then made NOT NULL by batch mode's table copy.
    with op.batch_alter_table("email_generation_sessions") as batch_op:
        batch_op.add_column(sa.Column("job_name", sa.String(length=255), nullable=True))
    op.execute(
        "UPDATE email_generation_sessions "
        "SET job_name = 'Communication job #' || id WHERE job_name IS NULL"
    )
    with op.batch_alter_table("email_generation_sessions") as batch_op:
        batch_op.alter_column(
            "job_name", existing_type=sa.String(length=255), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("email_generation_sessions") as batch_op:
        batch_op.drop_column("job_name")
