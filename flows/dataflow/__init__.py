"""The bytewax dataflow: MQTT intake log → pipelines per node → batched, idempotent storage."""
