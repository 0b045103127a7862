"""Grafana's file-provisioning layout, written into one directory that Grafana uses as (or
copies into) its provisioning directory:

    datasources/pepeunit.yaml        ClickHouse and the SQL database, `${...}` from Grafana's env
    dashboards/pepeunit.yaml         a file provider for the folder below
    dashboards/pepeunit/<unit>.json  one dashboard per unit

Files are written whole (a temporary file renamed into place), so a Grafana polling the folder
never reads half a dashboard; dashboards of units that no longer have pipelines are removed.
"""

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pepeunit_grafana.dashboards import GeneratedDashboard
from pepeunit_grafana.datasources import SqlDialect, datasources_document

PROVISIONING_FILE = "pepeunit.yaml"
DASHBOARDS_FOLDER = Path("dashboards") / "pepeunit"
DEFAULT_GRAFANA_DASHBOARDS_PATH = "/etc/grafana/provisioning/dashboards/pepeunit"
"""Where Grafana finds the dashboards when this directory is its provisioning directory
(`/etc/grafana/provisioning` in the Debian package and the official image)."""
GRAFANA_FOLDER = "Pepeunit"
_HEADER = (
    "# Written by `pepeunit grafana generate`; regenerate instead of editing.\n"
    "# Grafana replaces each ${VARIABLE} with the value from its own environment.\n"
)


@dataclass(slots=True)
class ProvisioningReport:
    written: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)


def render_json(document: dict[str, Any]) -> str:
    """Stable text: sorted keys, two-space indent, a final newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_yaml(document: dict[str, Any]) -> str:
    return _HEADER + yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def dashboard_provider_document(dashboards_path: str) -> dict[str, Any]:
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": "pepeunit",
                "orgId": 1,
                "folder": GRAFANA_FOLDER,
                "folderUid": "pepeunit",
                "type": "file",
                "disableDeletion": False,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 30,
                "options": {"path": dashboards_path, "foldersFromFilesStructure": False},
            }
        ],
    }


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
    return path


def write_provisioning(
    directory: Path,
    dashboards: Sequence[GeneratedDashboard],
    dialect: SqlDialect,
    dashboards_path: str = DEFAULT_GRAFANA_DASHBOARDS_PATH,
) -> ProvisioningReport:
    """Writes the layout into `directory`; `dashboards_path` is where Grafana will see the
    dashboards folder. Other files in `directory` are left alone."""
    report = ProvisioningReport()
    datasources = directory / "datasources" / PROVISIONING_FILE
    report.written.append(_write(datasources, render_yaml(datasources_document(dialect))))
    provider = directory / "dashboards" / PROVISIONING_FILE
    provider_text = render_yaml(dashboard_provider_document(dashboards_path))
    report.written.append(_write(provider, provider_text))
    folder = directory / DASHBOARDS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    kept = {dashboard.file_name for dashboard in dashboards}
    if len(kept) != len(dashboards):
        raise ValueError("two dashboards would be written to the same file")
    for dashboard in dashboards:
        report.written.append(_write(folder / dashboard.file_name, render_json(dashboard.document)))
    for stale in sorted(folder.glob("*.json")):
        if stale.name not in kept:
            stale.unlink()
            report.removed.append(stale)
    return report
