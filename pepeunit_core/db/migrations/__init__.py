"""Alembic migrations of the SQL data model (see pepeunit_core.db.alembic_config)."""
