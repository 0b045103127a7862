"""Shared fixtures. The private-service fixtures live in tests/services/ and are registered here."""

pytest_plugins = [
    "tests.services.clickhouse",
    "tests.services.mosquitto",
    "tests.services.postgres",
]
