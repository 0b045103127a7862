"""`pepeunit rollout ...` against our real API over HTTP (uvicorn on SQLite, a registry cloned
from a local git repository): a rollout created from stage specs, listed, shown, paused,
resumed, aborted and rolled back, and each way a command can go wrong said plainly."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pepeunit_cli.main import main
from tests.control_plane_registry.git_sources import SourceRepository
from tests.sdk.live_platform import (
    API,
    PASSWORD,
    Platform,
    commit_unit_program,
    running_platform,
)
from tests.services.mosquitto import MosquittoServer


@pytest.fixture(scope="module")
def platform(
    tmp_path_factory: pytest.TempPathFactory, mosquitto_server: MosquittoServer
) -> Iterator[Platform]:
    repository = SourceRepository(tmp_path_factory.mktemp("rollout-cli-source"), "cli-units")
    versions = commit_unit_program(repository)
    work_dir: Path = tmp_path_factory.mktemp("rollout-cli-platform")
    host, port = mosquitto_server.host, mosquitto_server.port
    with running_platform(work_dir, host, port, versions, repository.url) as running:
        yield running


def rollout_cli(platform: Platform, *args: str, token: str | None = None, **options) -> Result:
    """`pepeunit rollout --api <our API> ARGS` as alice (or with `token`)."""
    token = platform.alice["x-auth-token"] if token is None else token
    environment = {"PEPEUNIT_TOKEN": token or None, "PEPEUNIT_LOGIN": None}
    api = f"{platform.base_url}{API}"
    return CliRunner().invoke(main, ["rollout", "--api", api, *args], env=environment, **options)


def test_a_rollout_is_created_from_stage_specs_then_paused_resumed_aborted_and_rolled_back(
    platform: Platform,
):
    units = [platform.create_unit() for _ in range(3)]
    created = rollout_cli(
        platform, "create", platform.repo_uuid, "--commit", platform.versions.v2,
        "--stage", "canary:1", "--stage", "50%,soak=30,max-rejections=4", "--stage", "all",
        "--soak", "5", "--max-errors", "0", "--offline", "skip", "--rollback", "all",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    lines = created.output.splitlines()
    uuid = lines[0].split()[1].rstrip(":")
    assert lines[0] == f"rollout {uuid}: Pending, stage 0"
    assert lines[3:7] == [
        "stages:",
        "  0: 1 unit, soak 5 s, deadline 300 s, max errors +0; not started",
        "  1: 50%, soak 30 s, deadline 300 s, max errors +0, max rejections +4; not started",
        "  2: all, soak 5 s, deadline 300 s, max errors +0; not started",
    ]
    assert sorted(line.split()[0] for line in lines[8:11]) == sorted(units)

    shown = rollout_cli(platform, "show", uuid, "--json")
    assert shown.exit_code == 0, shown.output
    detail = json.loads(shown.output)
    assert (detail["offline_policy"], detail["rollback_on_halt"]) == ("Skip", "AllUnits")
    assert [unit["stage"] for unit in detail["units"]] == [0, 1, 2]

    listed = rollout_cli(platform, "list", "--repo", platform.repo_uuid)
    assert listed.exit_code == 0, listed.output
    assert listed.output.startswith(f"{uuid}  Pending     stage 0  Commit {platform.versions.v2}")

    for command, status in (("pause", "Paused"), ("resume", "Running"), ("abort", "Aborted")):
        moved = rollout_cli(platform, command, uuid)
        assert moved.exit_code == 0, moved.output
        assert moved.output.startswith(f"rollout {uuid}: {status}, stage 0 ({command} by alice)")
    refused = rollout_cli(platform, "resume", uuid)
    assert refused.exit_code == 1
    refusal = "Rollout Validation Error: A rollout that is Aborted cannot resume"
    assert f"POST /rollouts/{uuid}/resume: 422: 17: {refusal}" in refused.output
    rolled_back = rollout_cli(platform, "rollback", uuid)
    assert rolled_back.exit_code == 0, rolled_back.output
    history = rolled_back.output.split("history:\n")[1].splitlines()
    assert [line.split("  ")[2] for line in history] == [
        f"Pending, stage 0: created for 3 units, target {platform.versions.v2}",
        "Pending -> Paused, stage 0: pause by alice",
        "Paused -> Running, stage 0: resume by alice",
        "Running -> Aborted, stage 0: abort by alice",
        "Aborted -> RolledBack, stage 0: rollback by alice",
    ]

    logged_in = rollout_cli(
        platform, "--login", "alice", "show", uuid, token="", input=f"{PASSWORD}\n"
    )
    assert logged_in.exit_code == 0, logged_in.output
    assert f"rollout {uuid}: RolledBack" in logged_in.output


def test_what_cannot_run_is_said_plainly(platform: Platform):
    repo = platform.repo_uuid
    unit = platform.create_unit()
    cases = [
        (["list"], {"token": ""}, 2, "no user given: pass --token (or PEPEUNIT_TOKEN)"),
        (["list"], {"token": "not-a-token"}, 1, "GET /rollouts?limit=50: 401"),
        (["create", repo, "--stage", "all"], {}, 2,
         "give exactly one of --tag, --commit, --branch-head"),
        (["create", repo, "--tag", "v1", "--commit", "abc", "--stage", "all"], {}, 2,
         "give exactly one of"),
        (["create", repo, "--branch-head", "main", "--branch", "main", "--stage", "all"], {}, 2,
         "--branch-head names the branch; leave --branch out"),
        (["create", repo, "--tag", "v1"], {}, 2, "no --stage given"),
        (["create", repo, "--tag", "v1", "--stage", "150%"], {}, 2,
         "stage '150%': 150% is more than 100%"),
        (["create", repo, "--tag", "v9.9.9", "--stage", "all"], {}, 1,
         "POST /rollouts: 422: 17: Rollout Validation Error: Tag v9.9.9 is not on branch main"),
        (["create", repo, "--unit", unit, "--commit", platform.versions.v2, "--stage", "1"], {}, 1,
         "The last stage must reach 100 % of the units"),
        (["show", "not-a-uuid"], {}, 2, "'not-a-uuid' is not a valid UUID"),
        (["show", "00000000-0000-0000-0000-000000000000"], {}, 1, "404"),
        (["--login", "alice", "list"], {"token": "", "input": "wrong\n"}, 1,
         "cannot log in as alice"),
    ]  # fmt: skip
    for args, options, code, message in cases:
        result = rollout_cli(platform, *args, **options)
        assert result.exit_code == code, (args, result.output)
        assert message in result.output, (args, result.output)
    # --token and --api after the command as well as before it
    token_after = rollout_cli(platform, "list", "--token", platform.alice["x-auth-token"], token="")
    assert token_after.exit_code == 0, token_after.output
    assert "rollout(s)" in token_after.output
    unreachable = CliRunner().invoke(
        main, ["rollout", "--token", "t", "list", "--api", "http://127.0.0.1:9/pepeunit/api/v1"]
    )
    assert unreachable.exit_code == 1
    assert (
        "GET /rollouts?limit=50: cannot reach the API at http://127.0.0.1:9/pepeunit/api/v1: "
        in unreachable.output
    )
    assert "refused" in unreachable.output.lower()
