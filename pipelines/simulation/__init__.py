"""Trying pipelines on recorded messages before deploying them."""
