"""Alembic revision files; a package so that installs include them."""
