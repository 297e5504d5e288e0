"""warning_letters: why the letter's page could not be read, and when (the letter is kept from its
listing row and its page is tried again by later crawls)

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("warning_letters") as batch:
        batch.add_column(sa.Column("page_error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("page_error_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("warning_letters") as batch:
        batch.drop_column("page_error_at")
        batch.drop_column("page_error")
