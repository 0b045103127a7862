"""ClickHouse clients from one URL: `chdb:///abs/path` (embedded) or `http(s)://...` (a server)."""

from urllib.parse import urlsplit

import clickhouse_connect
from clickhouse_connect.driver import options as clickhouse_options
from clickhouse_connect.driver.client import Client

SERVER_SCHEMES = ("http", "https")

# We insert rows and columns, never DataFrames. Left to itself clickhouse-connect imports
# pandas (installed for chdb) at the first insert of every process to check for one: 0.5 s
# of CPU on a quiet machine, and the first rows of every flow start wait for it.
clickhouse_options.pd = None
clickhouse_options.pd_time_test = None


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
