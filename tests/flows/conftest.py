"""Dataflow tests run on both SQL backends."""

import pytest


@pytest.fixture(params=["postgresql", "sqlite"])
def sql_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'pepeunit.sqlite'}"
    return request.getfixturevalue("postgres_database").url
