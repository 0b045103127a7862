"""The `pepeunit` command line."""
