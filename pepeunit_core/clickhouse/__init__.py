"""ClickHouse (a server or the embedded chdb engine): the client and the schema of its tables."""
