"""What units report about themselves (docs/compatibility.md#state-and-log-reports):
`state/pepeunit` and `log/pepeunit` on their output base topic. Plain parsing into rows
(`pepeunit_core.stored_data.rows`), no I/O; the dataflow wires them."""
