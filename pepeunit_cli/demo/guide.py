"""What the demo prints once its system runs: where everything is, and the commands that read
what the platform stored (an indented bash block, to be copied as a whole)."""

import json
import shlex
from pathlib import Path
from typing import Any

from pepeunit_cli.demo.system import EDGE, HEATER, AppliedPipeline, DemoSystem
from pepeunit_cli.demo.work_dir import WorkDir

READY_LINE = "Pepeunit demo is running."
INDENT = "    "
NEW_TARGET_TEMPERATURE = 21


def guide_text(
    api_url: str,
    docs_url: str,
    login: str,
    password: str,
    system: DemoSystem,
    work: WorkDir,
    data_dir: Path,
) -> str:
    output, target = EDGE
    heater = system.units[HEATER.unit_name]
    credentials = json.dumps({"credentials": login, "password": password})
    env = json.dumps(
        {"env_json_string": json.dumps({"TARGET_TEMPERATURE": NEW_TARGET_TEMPERATURE})}
    )
    auth = '-H "x-auth-token: $TOKEN" -w "\\n"'
    lines = [
        "",
        READY_LINE,
        f"  {output.unit_name} publishes a temperature on {output.topic}; the platform routes it "
        f"to {target.unit_name}'s {target.topic}, which switches its heating on and off.",
        f"  API:      {api_url}   (docs: {docs_url}; user {login}, password {password})",
        f"  Data:     {data_dir.resolve()}",
        *(
            f"  {name}: program in {work.units / name} (its log.json there), "
            f"output in {work.logs / f'{name}.log'}"
            for name in system.units
        ),
        "Read what the platform stored (bash; python3 extracts the token):",
        f"{INDENT}API={shlex.quote(api_url)}",
        f"{INDENT}TOKEN=$(curl -sf -X POST \"$API/users/auth\" -H 'content-type: application/json' "
        f"-d {shlex.quote(credentials)} "
        "| python3 -c 'import json, sys; print(json.load(sys.stdin)[\"token\"])')",
        *_pipeline_commands(system.pipelines, auth),
        f"{INDENT}# {heater.name}'s log: what it did with the temperatures routed to it",
        f'{INDENT}curl -sf "$API/units/log_list/?uuid={heater.uuid}&limit=5" {auth}',
        f"{INDENT}# set {heater.name}'s target to {NEW_TARGET_TEMPERATURE} °C and have it download "
        "its env.json again",
        f'{INDENT}curl -sf -X PATCH "$API/units/env/{heater.uuid}" {auth} '
        f"-H 'content-type: application/json' -d {shlex.quote(env)}",
        f'{INDENT}curl -sf -X POST "$API/units/send_command_to_input_base_topic/{heater.uuid}'
        f'?command=EnvUpdate" {auth}',
        "Stop with Ctrl-C.",
        "",
    ]
    return "\n".join(lines)


def guide_commands(text: str) -> str:
    """The bash block of a guide (its indented lines)."""
    return "\n".join(line[len(INDENT) :] for line in text.splitlines() if line.startswith(INDENT))


def _pipeline_commands(pipelines: list[AppliedPipeline], auth: str) -> list[str]:
    lines = []
    for pipeline in pipelines:
        policy_type = str(pipeline.policy.get("policy_type"))
        lines += [
            f"{INDENT}# {pipeline.node.unit_name} {pipeline.node.topic}: "
            f"{_policy_text(pipeline.policy)} ({pipeline.file.name})",
            f'{INDENT}curl -sf "$API/unit_nodes/get_data_pipe_data/?uuid={pipeline.node_uuid}'
            f'&type={policy_type}&limit=5" {auth}',
        ]
    return lines


def _policy_text(policy: dict[str, Any]) -> str:
    match policy.get("policy_type"):
        case "NRecords":
            return f"the last {policy.get('n_records_count')} values, newest first"
        case "Aggregation":
            function = policy.get("aggregation_functions")
            size = policy.get("time_window_size")
            return f"{function} per {size} s, a row once each window has ended"
        case "TimeWindow":
            return f"every value of the last {policy.get('time_window_size')} s"
        case _:
            return "the current value"
