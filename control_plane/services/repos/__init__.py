"""Repos, version resolution and moving a repo's units to new firmware."""
