"""Grafana dashboards of a user's nodes and their sync to Grafana."""
