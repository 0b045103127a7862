"""The demo's system, made through the API as a user would make it: a registered repository,
a repo and a unit per example, the pipelines of examples/pipelines on their nodes, and the edge
that feeds the thermometer's temperature to the heater."""

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pepeunit_cli.demo.api_client import ApiClient
from pepeunit_cli.demo.example_repos import BRANCH, make_example_repo
from pepeunit_cli.demo.work_dir import WorkDir

logger = logging.getLogger("pepeunit.demo")


@dataclass(frozen=True)
class ExampleUnit:
    example: str
    """Its directory under examples/, also the repo's name."""
    unit_name: str


THERMOMETER = ExampleUnit("thermometer", "thermometer-1")
HEATER = ExampleUnit("heater", "heater-1")
EXAMPLE_UNITS = (THERMOMETER, HEATER)


@dataclass(frozen=True)
class NodeRef:
    unit_name: str
    topic: str


EDGE = (
    NodeRef(THERMOMETER.unit_name, "temperature/pepeunit"),
    NodeRef(HEATER.unit_name, "temperature/pepeunit"),
)
"""Output node → input node: the platform passes the thermometer's values to the heater."""


@dataclass(frozen=True)
class CreatedUnit:
    name: str
    uuid: str
    nodes: dict[str, str]
    """Topic name (e.g. `temperature/pepeunit`) → node uuid."""


@dataclass(frozen=True)
class AppliedPipeline:
    file: Path
    node: NodeRef
    node_uuid: str
    policy: dict[str, Any]
    """The file's `processing_policy`."""


@dataclass(frozen=True)
class DemoSystem:
    units: dict[str, CreatedUnit]
    """By unit name, in the order of EXAMPLE_UNITS."""
    pipelines: list[AppliedPipeline]


class DemoSetupError(RuntimeError):
    """The examples and their pipelines do not fit together."""


def build_system(api: ApiClient, work: WorkDir, examples: Path, pipelines: Path) -> DemoSystem:
    units = {
        example.unit_name: _create_unit(api, work, examples, example) for example in EXAMPLE_UNITS
    }
    applied = [_apply_pipeline(api, units, path) for path in sorted(pipelines.glob("*.yaml"))]
    output, target = EDGE
    api.call(
        "POST",
        "/unit_nodes/create_unit_node_edge",
        {"node_output_uuid": _node(units, output), "node_input_uuid": _node(units, target)},
    )
    logger.info(
        "edge: %s %s → %s %s", output.unit_name, output.topic, target.unit_name, target.topic
    )
    return DemoSystem(units, applied)


def _create_unit(
    api: ApiClient, work: WorkDir, examples: Path, example: ExampleUnit
) -> CreatedUnit:
    repository = make_example_repo(examples / example.example, work.git)
    logger.info("git repository of example %s: %s", example.example, repository)
    registry = api.call(
        "POST",
        "/repository_registry",
        {"platform": "Github", "repository_url": repository.as_uri(), "is_public_repository": True},
    )
    repo = api.call(
        "POST",
        "/repos",
        {
            "repository_registry_uuid": registry["uuid"],
            "default_branch": BRANCH,
            "visibility_level": "Private",
            "name": example.example,
        },
    )
    unit = api.call(
        "POST",
        "/units",
        {
            "repo_uuid": repo["uuid"],
            "visibility_level": "Private",
            "name": example.unit_name,
            "is_auto_update_from_repo_unit": True,
        },
    )
    listed = api.call("GET", f"/unit_nodes?unit_uuid={unit['uuid']}&limit=100")["unit_nodes"]
    nodes = {node["topic_name"]: node["uuid"] for node in listed}
    logger.info("unit %s (%s), nodes: %s", example.unit_name, unit["uuid"], ", ".join(nodes))
    return CreatedUnit(example.unit_name, unit["uuid"], nodes)


def _apply_pipeline(api: ApiClient, units: dict[str, CreatedUnit], path: Path) -> AppliedPipeline:
    """Uploads the file as the config of the node its binding names (`unit:` + `topic:`)."""
    content = path.read_bytes()
    document = yaml.safe_load(content)
    if not isinstance(document, dict) or not {"unit", "topic"} <= document.keys():
        raise DemoSetupError(f"{path}: a demo pipeline is bound with unit: and topic:")
    node = NodeRef(str(document["unit"]), str(document["topic"]))
    node_uuid = _node(units, node)
    api.call("PATCH", f"/unit_nodes/{node_uuid}", {"is_data_pipe_active": True})
    api.upload(
        f"/unit_nodes/set_data_pipe_config?uuid={node_uuid}",
        "data",
        path.name,
        content,
        "application/yaml",
    )
    policy = dict(document.get("processing_policy") or {})
    logger.info("pipeline %s on %s %s: %s", path.name, node.unit_name, node.topic, policy)
    return AppliedPipeline(path, node, node_uuid, policy)


def _node(units: dict[str, CreatedUnit], node: NodeRef) -> str:
    unit = units.get(node.unit_name)
    if unit is None or node.topic not in unit.nodes:
        raise DemoSetupError(f"no node {node.topic} of a demo unit {node.unit_name}")
    return unit.nodes[node.topic]
