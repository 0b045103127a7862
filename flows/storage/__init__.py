"""Storage of pipeline rows: ClickHouse (NRecords, TimeWindow, Aggregation) and the SQL node row
(LastValue), with retried idempotent writes, capped reads and background clean-up."""
