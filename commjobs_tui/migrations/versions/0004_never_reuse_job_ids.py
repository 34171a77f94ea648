"""Never reuse job and email ids: rebuild both tables with AUTOINCREMENT.

Without AUTOINCREMENT SQLite gives a new row the largest id plus one, so
deleting the newest job let the next job take its id and its emails' ids.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 17:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("email_generation_sessions", "generated_emails")


def _rebuild(autoincrement: bool) -> None:
    for table in TABLES:
        with op.batch_alter_table(
            table,
            recreate="always",
            table_kwargs={"sqlite_autoincrement": autoincrement},
        ):
            pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
