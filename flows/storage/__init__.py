"""The dataflow's storage of pipeline rows: ClickHouse (NRecords, TimeWindow, Aggregation, unit
logs) and SQL rows (LastValue, unit state, rejections, alert events), with retried, metered,
idempotent batch writes and background clean-up. The row types and the reads are in
`pepeunit_core.stored_data`."""
