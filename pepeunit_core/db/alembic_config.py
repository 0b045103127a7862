"""Alembic configuration built in code, so migrations run from an installed package."""

from pathlib import Path

from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
DATABASE_URL_ATTRIBUTE = "database_url"


def make_alembic_config(url: str) -> Config:
    """A Config whose migrations/env.py will run against `url`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # An attribute, not a main option: the ini parser would treat `%` in passwords as syntax.
    config.attributes[DATABASE_URL_ATTRIBUTE] = url
    return config
