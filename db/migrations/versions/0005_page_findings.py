"""pages: the flagger's findings and what it last assessed; flags: the page behind each flag

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("pages") as batch:
        batch.add_column(sa.Column("findings", JSON, nullable=True))
        batch.add_column(sa.Column("assessed", sa.Text(), nullable=True))
    with op.batch_alter_table("flags") as batch:
        batch.add_column(sa.Column("page_id", BigId, nullable=True))
        batch.create_index("ix_flags_status", ["status"])


def downgrade() -> None:
    with op.batch_alter_table("flags") as batch:
        batch.drop_index("ix_flags_status")
        batch.drop_column("page_id")
    with op.batch_alter_table("pages") as batch:
        batch.drop_column("assessed")
        batch.drop_column("findings")
