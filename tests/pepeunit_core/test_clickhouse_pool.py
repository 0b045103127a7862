"""The ClickHouse pool opens at most `size` clients, lends each to one borrower at a time, keeps
them open between borrowers, and makes a borrower that waits too long fail instead of hang."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from pepeunit_core.clickhouse.pool import ClickHouseBusyError, ClickHousePool
from tests.services.clickhouse import ClickHouseDatabase


def test_clients_are_reused_and_bounded(clickhouse_database: ClickHouseDatabase):
    opened = []

    def counting_open(url: str):
        from pepeunit_core.clickhouse.client import make_clickhouse_client

        opened.append(url)
        return make_clickhouse_client(url)

    pool = ClickHousePool(clickhouse_database.dsn, 2, open_client=counting_open)
    in_use = 0
    most_in_use = 0
    lock = threading.Lock()

    def query(_: int) -> int:
        nonlocal in_use, most_in_use
        with pool.client() as client:
            with lock:
                in_use += 1
                most_in_use = max(most_in_use, in_use)
            try:
                return int(client.query("SELECT 1 FROM numbers(10000)").row_count)
            finally:
                with lock:
                    in_use -= 1

    with ThreadPoolExecutor(6) as threads:
        assert set(threads.map(query, range(60))) == {10000}
    assert len(opened) <= 2 and most_in_use <= 2
    pool.close()
    with pytest.raises(ClickHouseBusyError), pool.client():
        pass


def test_a_borrower_waits_a_bounded_time_for_a_free_client(
    clickhouse_database: ClickHouseDatabase,
):
    pool = ClickHousePool(clickhouse_database.dsn, 1, wait_seconds=0.2)
    busy = pytest.raises(ClickHouseBusyError, match="1 ClickHouse clients")
    with pool.client(), busy, pool.client():
        pass
    with pool.client() as client:  # given back: usable again
        assert client.query("SELECT 1").result_rows == [(1,)]
    pool.close()
