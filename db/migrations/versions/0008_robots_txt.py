"""robots_txt: each host's robots.txt as last read, kept for a day so crawls do not ask again

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "robots_txt",
        sa.Column("netloc", sa.String(300), primary_key=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_robots_txt_fetched_at", "robots_txt", ["fetched_at"])


def downgrade() -> None:
    op.drop_index("ix_robots_txt_fetched_at", table_name="robots_txt")
    op.drop_table("robots_txt")
