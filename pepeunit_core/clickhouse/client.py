"""ClickHouse clients from one URL: `chdb:///abs/path` (embedded) or `http(s)://...` (a server)."""

from urllib.parse import urlsplit

import clickhouse_connect
from clickhouse_connect.driver.client import Client

SERVER_SCHEMES = ("http", "https")


def make_clickhouse_client(url: str) -> Client:
    """A client for `chdb:///abs/path[?database=db]`, `chdb://` (in memory) or
    `http(s)://user:password@host:port/database`."""
    scheme = urlsplit(url).scheme
    if scheme == "chdb":
        return clickhouse_connect.get_client(dsn=url)
    if scheme in SERVER_SCHEMES:
        # clickhouse-connect ignores the DSN scheme and guesses TLS from the port alone.
        return clickhouse_connect.get_client(dsn=url, interface=scheme)
    raise ValueError(
        f"unsupported ClickHouse URL scheme {scheme!r} in {url!r}: use chdb, http or https"
    )
