"""Saving dashboards through Grafana's HTTP API (`POST /api/dashboards/db`, overwriting).

Authenticates with a service account token (`Authorization: Bearer`). A dashboard Grafana
provisions from files cannot also be saved through the API: use one way or the other.
"""

import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pepeunit_grafana.dashboards import GeneratedDashboard

DASHBOARDS_ENDPOINT = "/api/dashboards/db"
COMMIT_MESSAGE = "pepeunit grafana generate"
_ERROR_BODY_LIMIT = 500


class GrafanaPushError(Exception):
    """Grafana refused a dashboard or could not be reached; dashboards before it were saved."""


@dataclass(frozen=True, slots=True)
class PushedDashboard:
    uid: str
    url: str
    version: int | None


def push_request_body(dashboard: GeneratedDashboard) -> dict[str, Any]:
    return {"dashboard": dashboard.document, "overwrite": True, "message": COMMIT_MESSAGE}


def _post(url: str, token: str, body: dict[str, Any], timeout: float) -> dict[str, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"{}")


def push_dashboards(
    grafana_url: str,
    token: str,
    dashboards: Sequence[GeneratedDashboard],
    *,
    timeout: float = 10.0,
) -> list[PushedDashboard]:
    """Saves every dashboard in order; raises GrafanaPushError at the first failure."""
    endpoint = grafana_url.rstrip("/") + DASHBOARDS_ENDPOINT
    pushed: list[PushedDashboard] = []
    for dashboard in dashboards:
        where = f"dashboard {dashboard.unit_name!r} ({dashboard.uid})"
        try:
            answer = _post(endpoint, token, push_request_body(dashboard), timeout)
        except urllib.error.HTTPError as error:
            detail = error.read()[:_ERROR_BODY_LIMIT].decode(errors="replace")
            raise GrafanaPushError(f"{where}: Grafana answered {error.code}: {detail}") from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            message = f"{where}: cannot reach Grafana at {endpoint}: {error}"
            raise GrafanaPushError(message) from None
        version = answer.get("version")
        pushed.append(
            PushedDashboard(
                dashboard.uid,
                str(answer.get("url", "")),
                version if isinstance(version, int) else None,
            )
        )
    return pushed
