"""The Pepeunit data plane: the bytewax dataflow that takes in every unit MQTT topic, runs the
pipelines on it, stores what they keep, routes Output values to linked Inputs and raises
alerts."""
