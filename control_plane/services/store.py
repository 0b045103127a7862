"""The data store (ClickHouse) as the routes reach it: a client of the process's pool, with
the store out of reach (connection refused or lost, every client busy) said as
`StoreUnavailableError` instead of the driver's exception, so a page or the API answers 503
with a message rather than 500. A query ClickHouse refuses (a bug) is left as it is."""

from collections.abc import Iterator
from contextlib import contextmanager

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import OperationalError

from control_plane.services.errors import StoreUnavailableError
from pepeunit_core.clickhouse.pool import ClickHouseBusyError, ClickHousePool

UNAVAILABLE = "The data store (ClickHouse) cannot be reached now; try again later"


@contextmanager
def store_client(pool: ClickHousePool) -> Iterator[Client]:
    """A client for this thread until the block ends; raises StoreUnavailableError when the
    store cannot be reached, on borrowing or within the block."""
    try:
        with pool.client() as client:
            yield client
    except (OperationalError, ClickHouseBusyError) as error:
        raise StoreUnavailableError(UNAVAILABLE) from error
