"""clinics: address, website, listings and names; pages: text, links, validators; page snapshots;
crawl run counters

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CLINIC_TEXT = ("website", "street", "locality", "region")
CLINIC_JSON = ("listings", "names")
PAGE_TEXT = ("title", "text", "lang", "encoding", "etag", "last_modified")


def upgrade() -> None:
    with op.batch_alter_table("clinics") as batch:
        for name in CLINIC_TEXT:
            batch.add_column(sa.Column(name, sa.Text(), nullable=True))
        for name in CLINIC_JSON:
            batch.add_column(sa.Column(name, JSON, nullable=True))
        batch.add_column(sa.Column("latitude", sa.Float(), nullable=True))
        batch.add_column(sa.Column("longitude", sa.Float(), nullable=True))
        batch.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_clinics_phone", ["phone"])
    with op.batch_alter_table("pages") as batch:
        for name in PAGE_TEXT:
            batch.add_column(sa.Column(name, sa.Text(), nullable=True))
        batch.add_column(sa.Column("links", JSON, nullable=True))
        batch.add_column(sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("crawl_runs") as batch:
        batch.add_column(sa.Column("stats", JSON, nullable=True))
    op.create_table(
        "page_snapshots",
        sa.Column("id", BigId, nullable=False),
        sa.Column("page_id", BigId, nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("encoding", sa.Text(), nullable=True),
        sa.Column("html_gzip", sa.LargeBinary(), nullable=False),
        sa.Column("html_bytes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["page_id"], ["pages.id"], name=op.f("fk_page_snapshots_page_id_pages")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_page_snapshots")),
    )
    op.create_index("ix_page_snapshots_page_id", "page_snapshots", ["page_id"])
    op.create_index("ix_page_snapshots_fetched_at", "page_snapshots", ["fetched_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE pages ALTER COLUMN text SET COMPRESSION lz4")
        # already gzip-compressed: storing it again compressed only costs time
        op.execute("ALTER TABLE page_snapshots ALTER COLUMN html_gzip SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.drop_index("ix_page_snapshots_fetched_at", table_name="page_snapshots")
    op.drop_index("ix_page_snapshots_page_id", table_name="page_snapshots")
    op.drop_table("page_snapshots")
    with op.batch_alter_table("crawl_runs") as batch:
        batch.drop_column("stats")
    with op.batch_alter_table("pages") as batch:
        for name in (*PAGE_TEXT, "links", "checked_at", "changed_at"):
            batch.drop_column(name)
    with op.batch_alter_table("clinics") as batch:
        batch.drop_index("ix_clinics_phone")
        for name in (*CLINIC_TEXT, *CLINIC_JSON, "latitude", "longitude", "last_seen_at"):
            batch.drop_column(name)
