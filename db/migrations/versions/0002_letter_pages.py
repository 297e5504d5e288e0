"""letter pages: the letter's own fields, relevance tags, listing presence; crawl run counts

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TEXT_COLUMNS = (
    "delivery_method",
    "reference_number",
    "recipient_name",
    "recipient_title",
    "address_line1",
    "locality",
    "region",
    "postal_code",
    "country",
    "body_text",
)
JSON_COLUMNS = (
    "products",
    "emails",
    "response_letters",
    "closeout_letters",
    "tags",
    "tag_phrases",
    "product_names",
)
STAMP_COLUMNS = ("page_fetched_at", "last_listed_at", "delisted_at")


def upgrade() -> None:
    with op.batch_alter_table("warning_letters") as batch:
        for name in TEXT_COLUMNS:
            batch.add_column(sa.Column(name, sa.Text(), nullable=True))
        for name in JSON_COLUMNS:
            batch.add_column(sa.Column(name, JSON, nullable=True))
        batch.add_column(sa.Column("content_hash", sa.String(length=64), nullable=True))
        for name in STAMP_COLUMNS:
            batch.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("listing_missing_count", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("crawl_runs") as batch:
        for name, default in (("requests", "0"), ("errors", "0"), ("attempt", "1")):
            batch.add_column(sa.Column(name, sa.Integer(), server_default=default, nullable=False))
    if op.get_bind().dialect.name == "postgresql":
        # letter bodies are large: lz4 compresses faster than the default pglz (PostgreSQL 14+)
        op.execute("ALTER TABLE warning_letters ALTER COLUMN body_text SET COMPRESSION lz4")


def downgrade() -> None:
    with op.batch_alter_table("crawl_runs") as batch:
        for name in ("requests", "errors", "attempt"):
            batch.drop_column(name)
    with op.batch_alter_table("warning_letters") as batch:
        for name in (*TEXT_COLUMNS, *JSON_COLUMNS, "content_hash", *STAMP_COLUMNS, "listing_missing_count"):
            batch.drop_column(name)
