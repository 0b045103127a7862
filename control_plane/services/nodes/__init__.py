"""Nodes (a unit's topics): their rows, their sync with a unit's schema, the edges between them
and their pipelines."""
