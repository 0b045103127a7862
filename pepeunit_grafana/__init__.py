"""Grafana dashboards generated from the active pipelines: a dashboard per unit and a panel per
pipeline node, querying ClickHouse (grafana-clickhouse-datasource) and the SQL database;
written as Grafana's file-provisioning layout or saved through its HTTP API."""

from pepeunit_grafana.dashboards import GeneratedDashboard, build_dashboard, build_dashboards
from pepeunit_grafana.datasources import SqlDialect, sql_dialect_of_url
from pepeunit_grafana.inventory import Inventory, NodePipeline, UnitPipelines, read_inventory
from pepeunit_grafana.provisioning import ProvisioningReport, write_provisioning
from pepeunit_grafana.push import GrafanaPushError, PushedDashboard, push_dashboards

__all__ = [
    "GeneratedDashboard",
    "GrafanaPushError",
    "Inventory",
    "NodePipeline",
    "ProvisioningReport",
    "PushedDashboard",
    "SqlDialect",
    "UnitPipelines",
    "build_dashboard",
    "build_dashboards",
    "push_dashboards",
    "read_inventory",
    "sql_dialect_of_url",
    "write_provisioning",
]
