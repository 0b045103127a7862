"""Private service instances (Mosquitto, PostgreSQL, chdb-backed ClickHouse) for the tests."""
