"""`pepeunit rollout ...`: staged firmware rollouts through the platform's REST API
(docs/api.md#rollouts), as the user whose token (or login) is given."""

import json
from collections.abc import Callable
from typing import Any

import click

from pepeunit_cli.demo.api_client import ApiClient, ApiError
from pepeunit_cli.rollout_stages import StageDefaults, StageSpecError, describe_stage, parse_stages

DEFAULT_API = "http://127.0.0.1:5000/pepeunit/api/v1"
COMMANDS = ("pause", "resume", "abort", "rollback")
OFFLINE_POLICIES = {"wait": "Wait", "skip": "Skip", "fail": "Fail"}
ROLLBACK_SCOPES = {"failed": "FailedUnits", "all": "AllUnits", "none": "None"}
DEFAULT_SOAK_S = 600
DEFAULT_DEADLINE_S = 300


@click.group()
@click.option(
    "--api",
    "api_url",
    envvar="PEPEUNIT_API",
    default=DEFAULT_API,
    show_default=True,
    help="The platform's API base URL (env PEPEUNIT_API).",
)
@click.option(
    "--token",
    envvar="PEPEUNIT_TOKEN",
    default=None,
    help="A user's API token, from POST /users/auth (env PEPEUNIT_TOKEN).",
)
@click.option(
    "--login",
    envvar="PEPEUNIT_LOGIN",
    default=None,
    help="Log in as this user instead of giving a token; the password comes from "
    "PEPEUNIT_PASSWORD or is asked for.",
)
@click.pass_context
def rollout(context: click.Context, api_url: str, token: str | None, login: str | None) -> None:
    """Staged, health-gated firmware rollouts: create, list, show, pause, resume, abort,
    roll back.

    \b
    Example:
      pepeunit rollout create REPO_UUID --tag v2.0.0 \\
          --stage canary:1 --stage 50% --stage all --soak 600 --max-errors 0
    """
    context.obj = _Connection(api_url, token, login)


class _Connection:
    def __init__(self, api_url: str, token: str | None, login: str | None) -> None:
        self.api_url, self.token, self.login = api_url, token, login

    def client(self) -> ApiClient:
        if self.token:
            return ApiClient(self.api_url, self.token)
        if not self.login:
            raise click.UsageError(
                "no user given: pass --token (or PEPEUNIT_TOKEN) with a token from "
                "POST /users/auth, or --login (or PEPEUNIT_LOGIN)"
            )
        password = click.prompt(
            f"Password of {self.login}", hide_input=True, default="", show_default=False
        )
        client = ApiClient(self.api_url)
        try:
            answer = client.call(
                "POST", "/users/auth", {"credentials": self.login, "password": password}
            )
        except ApiError as error:
            raise click.ClickException(f"cannot log in as {self.login}: {error}") from None
        return ApiClient(self.api_url, answer["token"])


def _call(context: click.Context, method: str, path: str, body: object = None) -> Any:
    connection: _Connection = context.obj
    try:
        return connection.client().call(method, path, body)
    except ApiError as error:
        raise click.ClickException(str(error)) from None


json_option = click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")


def _override(context: click.Context, parameter: click.Parameter, value: str | None) -> None:
    if value is not None:
        setattr(context.find_object(_Connection), str(parameter.name), value)


def connection_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """`--api`, `--token` and `--login` after the command too (`pepeunit rollout list --token
    T`), as well as before it."""
    for name, attribute in (("--login", "login"), ("--token", "token"), ("--api", "api_url")):
        command = click.option(
            name,
            attribute,
            expose_value=False,
            callback=_override,
            help=f"As `pepeunit rollout {name}`.",
        )(command)
    return command


@rollout.command()
@click.argument("repo_uuid", type=click.UUID)
@click.option("--tag", help="Roll out this tag (of --branch).")
@click.option("--commit", help="Roll out this commit (of --branch).")
@click.option("--branch-head", help="Roll out the newest commit of this branch.")
@click.option("--branch", help="The branch of --tag or --commit [default: the repo's].")
@click.option(
    "--unit",
    "units",
    multiple=True,
    type=click.UUID,
    help="A unit to update, in stage order (repeat); none: every unit of the repo you created.",
)
@click.option(
    "--stage",
    "stage_specs",
    multiple=True,
    help="A stage, in order: [NAME:]N (units), N% or all, with optional ,soak=S ,deadline=S "
    ",max-errors=N ,max-rejections=N; e.g. --stage canary:1 --stage 50% --stage all.",
)
@click.option("--soak", type=click.IntRange(min=0), default=DEFAULT_SOAK_S, show_default=True,
              help="Seconds each stage's units must stay healthy after confirming.")  # fmt: skip
@click.option("--confirm-deadline", type=click.IntRange(min=1), default=DEFAULT_DEADLINE_S,
              show_default=True,
              help="Seconds a unit has to report the new version after its Update.")  # fmt: skip
@click.option("--max-errors", type=click.IntRange(min=0), default=None,
              help="Error logs a unit may have more than before the update [default: not "
              "checked].")  # fmt: skip
@click.option("--max-rejections", type=click.IntRange(min=0), default=None,
              help="Pipeline rejections a unit's nodes may have since the update [default: "
              "not checked].")  # fmt: skip
@click.option("--offline", type=click.Choice(sorted(OFFLINE_POLICIES)), default="wait",
              show_default=True,
              help="A unit offline when its update is due: wait for it, skip it, or fail the "
              "stage.")  # fmt: skip
@click.option("--rollback", "rollback_scope", type=click.Choice(sorted(ROLLBACK_SCOPES)),
              default="failed", show_default=True,
              help="What a halt sends back to its previous version.")  # fmt: skip
@json_option
@connection_options
@click.pass_context
def create(
    context: click.Context,
    repo_uuid: object,
    tag: str | None,
    commit: str | None,
    branch_head: str | None,
    branch: str | None,
    units: tuple[object, ...],
    stage_specs: tuple[str, ...],
    soak: int,
    confirm_deadline: int,
    max_errors: int | None,
    max_rejections: int | None,
    offline: str,
    rollback_scope: str,
    as_json: bool,
) -> None:
    """Create a rollout of REPO_UUID's units to one version; the platform starts it at its
    next step."""
    targets = [(kind, ref) for kind, ref in
               (("Tag", tag), ("Commit", commit), ("BranchHead", branch_head)) if ref]  # fmt: skip
    if len(targets) != 1:
        raise click.UsageError("give exactly one of --tag, --commit, --branch-head")
    kind, ref = targets[0]
    if kind == "BranchHead" and branch:
        raise click.UsageError("--branch-head names the branch; leave --branch out")
    defaults = StageDefaults(soak, confirm_deadline, max_errors, max_rejections)
    try:
        stages = parse_stages(stage_specs, defaults)
    except StageSpecError as error:
        raise click.BadParameter(str(error), param_hint="--stage") from None
    body: dict[str, Any] = {
        "repo_uuid": str(repo_uuid),
        "target_kind": kind,
        "target_ref": ref,
        "stages": stages,
        "offline_policy": OFFLINE_POLICIES[offline],
        "rollback_on_halt": ROLLBACK_SCOPES[rollback_scope],
    }
    if branch:
        body["target_branch"] = branch
    if units:
        body["unit_uuids"] = [str(unit) for unit in units]
    _print_detail(_call(context, "POST", "/rollouts", body), as_json)


@rollout.command(name="list")
@click.option("--repo", "repo_uuid", type=click.UUID, help="Only the rollouts of this repo.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@json_option
@connection_options
@click.pass_context
def list_rollouts(context: click.Context, repo_uuid: object, limit: int, as_json: bool) -> None:
    """Your rollouts, newest first: one line each."""
    query = f"?limit={limit}" + (f"&repo_uuid={repo_uuid}" if repo_uuid else "")
    found = _call(context, "GET", f"/rollouts{query}")
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    for row in found["rollouts"]:
        click.echo(
            f"{row['uuid']}  {row['status']:<10}  stage {row['current_stage']}  "
            f"{row['target_kind']} {row['target_ref']} ({row['target_commit'][:12]})  "
            f"created {row['create_datetime']}"
        )
    click.echo(f"{found['count']} rollout(s)", err=True)


@rollout.command()
@click.argument("uuid", type=click.UUID)
@json_option
@connection_options
@click.pass_context
def show(context: click.Context, uuid: object, as_json: bool) -> None:
    """A rollout: its stages, each unit's stage and outcome, and its history."""
    _print_detail(_call(context, "GET", f"/rollouts/{uuid}"), as_json)


def _command(name: str, summary: str) -> click.Command:
    @click.argument("uuid", type=click.UUID)
    @json_option
    @connection_options
    @click.pass_context
    def run(context: click.Context, uuid: object, as_json: bool) -> None:
        _print_detail(_call(context, "POST", f"/rollouts/{uuid}/{name}"), as_json)

    run.__doc__ = summary
    return click.command(name=name)(run)


for _name, _summary in (
    ("pause", "Pause a Pending or Running rollout (nothing more is sent until resumed)."),
    ("resume", "Resume a Paused rollout where its stage stood."),
    ("abort", "Stop a rollout for good: nothing more sent, nothing rolled back."),
    ("rollback", "Send every unit the rollout updated back to the version it ran before."),
):
    rollout.add_command(_command(_name, _summary))


def _print_detail(detail: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(detail, indent=2))
        return
    for line in detail_lines(detail):
        click.echo(line)


def detail_lines(detail: dict[str, Any]) -> list[str]:
    """A rollout as `show` prints it."""
    lines = [
        f"rollout {detail['uuid']}: {detail['status']}, stage {detail['current_stage']}"
        + (f" ({detail['status_reason']})" if detail.get("status_reason") else ""),
        f"  target: {detail['target_kind']} {detail['target_ref']} on {detail['target_branch']}"
        f" = {detail['target_commit']}",
        f"  offline units: {detail['offline_policy']}, on halt roll back: "
        f"{detail['rollback_on_halt']}",
        "stages:",
    ]
    for stage in detail["stages"]:
        gates = [
            f"soak {stage['soak_seconds']} s",
            f"deadline {stage['confirm_deadline_seconds']} s",
        ]
        if stage["max_error_log_increase"] is not None:
            gates.append(f"max errors +{stage['max_error_log_increase']}")
        if stage["max_rejection_increase"] is not None:
            gates.append(f"max rejections +{stage['max_rejection_increase']}")
        progress = (
            f"passed {stage['passed_datetime']}" if stage["passed_datetime"]
            else f"started {stage['started_datetime']}" if stage["started_datetime"]
            else "not started"
        )  # fmt: skip
        lines.append(
            f"  {stage['position']}: {describe_stage(stage)}, {', '.join(gates)}; {progress}"
        )
    lines.append("units:")
    for unit in detail["units"]:
        reason = f" ({unit['outcome_reason']})" if unit.get("outcome_reason") else ""
        lines.append(f"  {unit['unit_uuid']}  stage {unit['stage']}  {unit['outcome']}{reason}")
    lines.append("history:")
    for event in detail["history"]:
        moved = f"{event['from_status']} -> " if event["from_status"] else ""
        reason = f": {event['reason']}" if event.get("reason") else ""
        lines.append(
            f"  {event['event_datetime']}  {moved}{event['to_status']}, stage {event['stage']}"
            f"{reason}"
        )
    return lines
