"""The data plane (`pepeunit flow`). Intake processes take in every unit's MQTT topics, log them
(`intake/`) and copy Output values to linked Inputs (`routing/`); the bytewax dataflow
(`dataflow/`) reads the intake logs, runs each node's pipeline from the config cache
(`config_cache`), turns unit reports into rows (`units/`) and stores rows and alert events
(`storage/`); the janitor cleans up what readers no longer see. The pipeline language is
`pipelines`; the row types and reads both planes use are `pepeunit_core.stored_data`."""
