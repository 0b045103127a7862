"""The bytewax dataflow: intake logs → pipelines per node and unit reports per unit → batched,
idempotent storage."""
