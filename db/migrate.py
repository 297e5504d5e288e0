"""Schema changes go through Alembic only; this module runs them and reports where a store stands."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from db.engine import WRITE_OPTION

MIGRATIONS = Path(__file__).with_name("migrations")
# Any constant will do: it only has to be the same for every exowatch process on one database.
_PG_MIGRATION_LOCK = 0x65786F77_6D696772 & 0x7FFFFFFFFFFFFFFF


def _alembic_config() -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


class UnknownSchema(Exception):
    """The store was migrated by a newer exowatch: this one must not touch it."""

    def __init__(self, revision: str) -> None:
        super().__init__(revision)
        self.revision = revision


def known_revisions() -> set[str]:
    return {script.revision for script in ScriptDirectory.from_config(_alembic_config()).walk_revisions()}


def head_revision() -> str:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Create or upgrade the store to the newest schema; returns (before, after). Idempotent."""
    config = _alembic_config()
    with engine.connect().execution_options(**{WRITE_OPTION: True}) as connection, connection.begin():
        if connection.dialect.name == "postgresql":
            # Two `init`s at once on one database: the second waits, then finds nothing to do.
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        before = MigrationContext.configure(connection).get_current_revision()
        if before is not None and before not in known_revisions():
            raise UnknownSchema(before)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        after = MigrationContext.configure(connection).get_current_revision()
    return before, after


def generate(engine: Engine, message: str) -> None:
    """Developer helper: autogenerate a migration from the models against an up-to-date store."""
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
