"""Backup and restore benchmark: `pepeunit backup` and `pepeunit restore` on SQLite and chdb.

Seeds a data dir with `--units` units (an input and an output node each, the output with an
NRecords or TimeWindow pipeline, and the permissions the service would give them) and
`--rows` stored rows spread over the output nodes (inserted by ClickHouse itself), then times
`pepeunit backup` and `pepeunit restore` (into an empty data dir) as child processes and reads
their peak RSS. Seeding runs in a child process too: chdb opens one directory per process.

Run from the repository root:
    PYTHONPATH=. .venv/bin/python bench/backup_bench.py [--units 1000] [--rows 1000000]
Prints a Markdown table; bench/RESULTS.md records the figures.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLI = Path(sys.executable).parent / "pepeunit"


def seed(data_dir: Path, units: int, rows: int) -> None:
    from pepeunit_core.clickhouse.client import make_clickhouse_client
    from pepeunit_core.db import models
    from pepeunit_core.db.engine import make_engine, make_session_factory
    from pepeunit_core.migrate import migrate_clickhouse, migrate_sql
    from pepeunit_core.settings import Settings

    settings = Settings(data_dir=data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.resolved_sqlalchemy_url
    migrate_sql(url)
    policies = (
        {"policy_type": "NRecords", "n_records_count": 1000},
        {"policy_type": "TimeWindow", "time_window_size": 86400},
    )
    outputs: dict[str, list[str]] = {"NRecords": [], "TimeWindow": []}
    with make_session_factory(make_engine(url))() as session:
        user = models.User(
            role=models.UserRole.ADMIN, login="bench", hashed_password="-", cipher_dynamic_salt="-"
        )
        session.add(user)
        session.flush()
        registry = models.RepositoryRegistry(
            platform=models.RepositoryPlatform.GITHUB,
            repository_url="https://example.com/bench.git",
            creator_uuid=user.uuid,
        )
        session.add(registry)
        session.flush()
        repo = models.Repo(
            name="bench", repository_registry_uuid=registry.uuid, creator_uuid=user.uuid
        )
        session.add(repo)
        session.flush()
        for index in range(units):
            unit = models.Unit(name=f"unit-{index}", repo_uuid=repo.uuid, creator_uuid=user.uuid)
            session.add(unit)
            session.flush()
            policy = policies[index % 2]
            config = {
                "active_period": {"type": "Permanent"},
                "filters": {"type_input_value": "Number"},
                "processing_policy": policy,
            }
            nodes = [
                models.UnitNode(
                    type=models.UnitNodeType.INPUT,
                    topic_name="set/pepeunit",
                    unit_uuid=unit.uuid,
                    creator_uuid=user.uuid,
                ),
                models.UnitNode(
                    type=models.UnitNodeType.OUTPUT,
                    topic_name="temp/pepeunit",
                    unit_uuid=unit.uuid,
                    creator_uuid=user.uuid,
                    is_data_pipe_active=True,
                    data_pipe_yml=json.dumps(config),
                ),
            ]
            session.add_all(nodes)
            session.flush()
            outputs[policy["policy_type"]].append(str(nodes[1].uuid))
            session.add(
                models.Permission(
                    agent_type=models.PermissionEntity.USER,
                    agent_user_uuid=user.uuid,
                    resource_type=models.PermissionEntity.UNIT,
                    resource_unit_uuid=unit.uuid,
                )
            )
            for node in nodes:
                session.add(
                    models.Permission(
                        agent_type=models.PermissionEntity.UNIT,
                        agent_unit_uuid=unit.uuid,
                        resource_type=models.PermissionEntity.UNIT_NODE,
                        resource_unit_node_uuid=node.uuid,
                    )
                )
        session.commit()
    migrate_clickhouse(settings.resolved_clickhouse_url)
    client = make_clickhouse_client(settings.resolved_clickhouse_url)
    try:
        for table, policy, extra in (
            ("n_last_entry", "NRecords", "1000"),
            ("window_entry", "TimeWindow", "toDateTime(now() + 86400)"),
        ):
            nodes = ", ".join(f"toUUID('{uuid}')" for uuid in outputs[policy])
            client.command(
                f"INSERT INTO {table} SELECT [{nodes}][number % {len(outputs[policy])} + 1], "
                "toString(number), 'Number', now64(3, 'UTC') - toIntervalMillisecond(number), "
                f"{extra}, length(toString(number)), number FROM numbers({rows // 2})"
            )
    finally:
        client.close()


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Runs `command`; returns its wall seconds and peak RSS in MiB."""
    started = time.monotonic()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    if status != 0:
        raise SystemExit(f"{command} failed: {process.stderr.read().decode()}")  # type: ignore[union-attr]
    return seconds, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.seed:
        seed(arguments.seed, arguments.units, arguments.rows)
        return
    env = {key: value for key, value in os.environ.items() if not key.startswith("PU_")}
    with tempfile.TemporaryDirectory(prefix="pepeunit-backup-bench-") as scratch:
        source, target, archive = (
            Path(scratch, "source"),
            Path(scratch, "target"),
            Path(scratch, "b.tar"),
        )
        started = time.monotonic()
        subprocess.run(
            [sys.executable, __file__, "--seed", str(source), "--units", str(arguments.units),
             "--rows", str(arguments.rows)],
            check=True, env=env,
        )  # fmt: skip
        print(f"seeded in {time.monotonic() - started:.1f} s", file=sys.stderr)
        backup_s, backup_mb = timed(
            [str(CLI), "backup", "--output", str(archive)], env | {"PU_DATA_DIR": str(source)}
        )
        restore_s, restore_mb = timed(
            [str(CLI), "restore", str(archive), "--data-dir", str(target)], env
        )
        size = archive.stat().st_size / 2**20
        data = sum(path.stat().st_size for path in source.rglob("*") if path.is_file()) / 2**20
    print(
        f"{arguments.units} units, {arguments.rows} stored rows; source data dir {data:.1f} MiB\n"
    )
    print("| step | wall s | peak RSS MiB | archive MiB |")
    print("|---|---:|---:|---:|")
    print(f"| `pepeunit backup` | {backup_s:.1f} | {backup_mb:.0f} | {size:.1f} |")
    print(f"| `pepeunit restore` (empty data dir) | {restore_s:.1f} | {restore_mb:.0f} | |")


if __name__ == "__main__":
    main()
