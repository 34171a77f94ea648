"""Index donations by donor, date and amount for the donor list's gift aggregates.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 16:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_donations_donor_gift",
        "donations",
        ["donor_id", "donated_on", "amount_cents"],
    )


def downgrade() -> None:
    op.drop_index("ix_donations_donor_gift", table_name="donations")
