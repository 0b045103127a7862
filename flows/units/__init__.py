"""What units report about themselves (reference §5.3): `state/pepeunit` and `log/pepeunit` on
their output base topic. Plain parsing and rows, no I/O; the dataflow wires them."""
