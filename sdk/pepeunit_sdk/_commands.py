"""The platform's commands (input_base_topic) and what the unit does for each."""

import json
from typing import TYPE_CHECKING

from ._enums import BaseInputTopic

if TYPE_CHECKING:
    from ._client import PepeunitClient

__all__ = ["serve_command"]


def serve_command(client: "PepeunitClient", command: BaseInputTopic, payload: str) -> None:
    """Raises whatever the work raises; the caller logs it."""
    match command:
        case BaseInputTopic.UPDATE:
            _update(client, payload)
        case BaseInputTopic.ENV_UPDATE:
            client.download_env()
            client.logger.info("env.json updated from the platform")
        case BaseInputTopic.SCHEMA_UPDATE:
            client.download_schema()
            client.logger.info("schema.json updated from the platform")
        case BaseInputTopic.LOG_SYNC:
            client.publish_full_log()
            client.logger.info("Log sync completed")


def _update(client: "PepeunitClient", payload: str) -> None:
    """`{"COMMAND": "Update", "PU_COMMIT_VERSION": "<sha>"}`; without a version the unit asks
    the platform for its target version."""
    try:
        body = json.loads(payload)
    except ValueError:
        body = {}
    version = body.get("PU_COMMIT_VERSION") if isinstance(body, dict) else None
    client.perform_update(version if isinstance(version, str) and version else None)
