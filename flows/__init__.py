"""The Pepeunit data plane: the pipeline engine and (later) the bytewax dataflow."""
