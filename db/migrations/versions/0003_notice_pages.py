"""notices: the alert page's fields, the feeds that carried a notice, relevance tags

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TEXT_COLUMNS = ("notice_type", "audience", "issue", "background", "recommendation", "body_text")
JSON_COLUMNS = ("feeds", "tags", "tag_phrases", "product_names")


def upgrade() -> None:
    with op.batch_alter_table("notices") as batch:
        batch.add_column(sa.Column("posted_date", sa.Date(), nullable=True))
        for name in TEXT_COLUMNS:
            batch.add_column(sa.Column(name, sa.Text(), nullable=True))
        for name in JSON_COLUMNS:
            batch.add_column(sa.Column(name, JSON, nullable=True))
        batch.add_column(sa.Column("content_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("page_fetched_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_notices_posted_date", ["posted_date"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE notices ALTER COLUMN body_text SET COMPRESSION lz4")


def downgrade() -> None:
    with op.batch_alter_table("notices") as batch:
        batch.drop_index("ix_notices_posted_date")
        for name in ("posted_date", *TEXT_COLUMNS, *JSON_COLUMNS, "content_hash", "page_fetched_at"):
            batch.drop_column(name)
