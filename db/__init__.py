"""The store: engine set-up, typed models, Alembic migrations and the one module that writes SQL."""
