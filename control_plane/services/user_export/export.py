"""`export_user`: one archive of what a user owns (docs/user-export.md).

In it: the registries they created and those their repos are built on, their repos, units
(env and state storage only when secrets are asked for), the units' nodes, the edges between
those nodes, their dashboards, every pipeline as a file `pepeunit pipelines apply` takes, and
the stored rows of each pipeline as CSV. Nothing of another user: permissions they granted,
edges to other users' nodes and other users' units on their repos stay behind.
"""

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from uuid import UUID

from clickhouse_connect.driver.client import Client
from sqlalchemy import select
from sqlalchemy.orm import Session

from control_plane.services.errors import UnitError
from control_plane.services.firmware import EnvJsonError, parse_env_object
from control_plane.services.nodes import pipelines
from control_plane.services.user_export.manifest import (
    INACTIVE_PIPELINES_DIR,
    PIPELINES_DIR,
    RECORDS_MEMBER,
    ROWS_DIR,
    ExportManifest,
)
from control_plane.services.user_export.records import (
    DERIVED_ENV,
    DashboardRecord,
    EdgeRecord,
    NodeRecord,
    PanelNodeRecord,
    PanelRecord,
    RegistryRecord,
    RepoRecord,
    UnitRecord,
    UserRecords,
)
from pepeunit_core.backup.archive import ArchiveWriter
from pepeunit_core.backup.create import package_version
from pepeunit_core.crypto import Cipher, DecryptionError
from pepeunit_core.db.models import (
    Dashboard,
    DashboardPanel,
    PanelUnitNode,
    Repo,
    RepositoryRegistry,
    Unit,
    UnitNode,
    UnitNodeEdge,
    User,
)
from pepeunit_core.pipeline_store import (
    StoredConfigError,
    config_from_stored,
    pipeline_file_location,
    render_pipeline_file,
)
from pepeunit_core.settings import Settings
from pipelines.config import PolicyType


def export_file_name(user: User, now: datetime) -> str:
    return f"pepeunit-export-{user.login}-{now.strftime('%Y%m%dT%H%M%SZ')}.tar"


def export_user(
    session: Session,
    settings: Settings,
    cipher: Cipher,
    clickhouse: Client,
    user: User,
    output: Path,
    *,
    include_secrets: bool,
) -> ExportManifest:
    """Writes the user's archive to `output` (built beside it, renamed when complete) and
    returns its manifest. Reads only; the rows go from ClickHouse to the archive a block at a
    time."""
    now = datetime.now(UTC)
    units = session.scalars(
        select(Unit).where(Unit.creator_uuid == user.uuid).order_by(Unit.name)
    ).all()
    repos = session.scalars(
        select(Repo).where(Repo.creator_uuid == user.uuid).order_by(Repo.name)
    ).all()
    unit_repos = {repo.uuid: repo for repo in repos}
    for unit in units:
        if unit.repo_uuid not in unit_repos:
            unit_repos[unit.repo_uuid] = session.get_one(Repo, unit.repo_uuid)
    registry_uuids = {repo.repository_registry_uuid for repo in repos}
    registries = session.scalars(
        select(RepositoryRegistry)
        .where(
            (RepositoryRegistry.creator_uuid == user.uuid)
            | RepositoryRegistry.uuid.in_(registry_uuids)
        )
        .order_by(RepositoryRegistry.repository_url)
    ).all()
    unit_names = {unit.uuid: unit.name for unit in units}
    nodes = sorted(
        session.scalars(select(UnitNode).where(UnitNode.unit_uuid.in_(unit_names))),
        key=lambda node: (unit_names[node.unit_uuid], node.type, node.topic_name, str(node.uuid)),
    )
    # Records follow the nodes' order (by names, not uuids): an archive of the same data
    # reads the same on any instance.
    position = {node.uuid: index for index, node in enumerate(nodes)}
    shared_topics = {
        key
        for key, count in Counter((node.unit_uuid, node.topic_name) for node in nodes).items()
        if count > 1
    }
    files: dict[UnitNode, tuple[str, str]] = {}
    for node in nodes:
        if node.data_pipe_yml is not None:
            files[node] = _pipeline_file(node, unit_names[node.unit_uuid], shared_topics)
    stored_rows = [node for node in nodes if node in files and _keeps_rows(node)]
    records = UserRecords(
        registries=[
            RegistryRecord(
                uuid=registry.uuid,
                repository_url=registry.repository_url,
                platform=registry.platform,
                is_public_repository=registry.is_public_repository,
                created_by_owner=registry.creator_uuid == user.uuid,
            )
            for registry in registries
        ],
        repos=[_repo_record(repo) for repo in repos],
        units=[
            _unit_record(unit, unit_repos[unit.repo_uuid], cipher, include_secrets)
            for unit in units
        ],
        nodes=[_node_record(node, files.get(node), node in set(stored_rows)) for node in nodes],
        edges=[
            EdgeRecord(node_output_uuid=edge.node_output_uuid, node_input_uuid=edge.node_input_uuid)
            for edge in sorted(
                session.scalars(
                    select(UnitNodeEdge).where(
                        UnitNodeEdge.node_output_uuid.in_(position),
                        UnitNodeEdge.node_input_uuid.in_(position),
                    )
                ),
                key=lambda edge: (position[edge.node_output_uuid], position[edge.node_input_uuid]),
            )
        ],
        dashboards=_dashboard_records(session, user, position),
    )
    writer = ArchiveWriter(output)
    try:
        with writer.member(RECORDS_MEMBER) as file:
            file.write(records.model_dump_json(indent=1).encode())
        for name, text in files.values():
            with writer.member(name) as file:
                file.write(text.encode())
        for node in stored_rows:
            with writer.member(_rows_member(node)) as file:
                pipelines.export_csv(clickhouse, node, now, file)
        manifest = ExportManifest(
            package_version=package_version(),
            created_at=now.isoformat(),
            domain=settings.domain,
            user_login=user.login,
            includes_secrets=include_secrets,
            counts={
                "registries": len(records.registries),
                "repos": len(records.repos),
                "units": len(records.units),
                "nodes": len(records.nodes),
                "edges": len(records.edges),
                "pipelines": len(files),
                "dashboards": len(records.dashboards),
            },
        )
        writer.finish(manifest)
    except BaseException:
        writer.close()
        raise
    return manifest


def _pipeline_file(
    node: UnitNode, unit_name: str, shared_topics: set[tuple[Any, str]]
) -> tuple[str, str]:
    """(member name, file text) of the node's pipeline; active ones under `pipelines/`."""
    assert node.data_pipe_yml is not None
    try:
        config = config_from_stored(node.data_pipe_yml)
    except StoredConfigError as error:
        raise UnitError(f"Unit node {node.uuid}: {error}; nothing was exported") from None
    directory = PIPELINES_DIR if node.is_data_pipe_active else INACTIVE_PIPELINES_DIR
    ambiguous = (node.unit_uuid, node.topic_name) in shared_topics
    binding, path = pipeline_file_location(Path(directory), node, unit_name, ambiguous)
    return PurePosixPath(*path.parts).as_posix(), render_pipeline_file(node.uuid, binding, config)


def _keeps_rows(node: UnitNode) -> bool:
    """Whether the node's policy stores rows in ClickHouse (LastValue keeps `state`)."""
    assert node.data_pipe_yml is not None
    policy = config_from_stored(node.data_pipe_yml).processing_policy.policy_type
    return policy is not PolicyType.LAST_VALUE


def _rows_member(node: UnitNode) -> str:
    return f"{ROWS_DIR}/{node.uuid}.csv"


def _repo_record(repo: Repo) -> RepoRecord:
    return RepoRecord(
        uuid=repo.uuid,
        name=repo.name,
        visibility_level=repo.visibility_level,
        default_branch=repo.default_branch,
        is_compilable_repo=repo.is_compilable_repo,
        is_auto_update_repo=repo.is_auto_update_repo,
        default_commit=repo.default_commit,
        is_only_tag_update=repo.is_only_tag_update,
        repository_registry_uuid=repo.repository_registry_uuid,
    )


def _unit_record(unit: Unit, repo: Repo, cipher: Cipher, include_secrets: bool) -> UnitRecord:
    env = state = None
    if include_secrets:
        try:
            if unit.cipher_env_dict:
                stored = parse_env_object(cipher.decrypt(unit.cipher_env_dict), source="the env")
                env = {name: value for name, value in stored.items() if name not in DERIVED_ENV}
            if unit.cipher_state_storage:
                state = cipher.decrypt(unit.cipher_state_storage)
        except (DecryptionError, EnvJsonError) as error:
            raise UnitError(
                f"Unit {unit.name}: its stored secrets are unreadable: {error}"
            ) from None
    return UnitRecord(
        uuid=unit.uuid,
        name=unit.name,
        visibility_level=unit.visibility_level,
        is_auto_update_from_repo_unit=unit.is_auto_update_from_repo_unit,
        target_firmware_platform=unit.target_firmware_platform,
        repo_branch=unit.repo_branch,
        repo_commit=unit.repo_commit,
        repo_uuid=repo.uuid if repo.creator_uuid == unit.creator_uuid else None,
        repo_name=repo.name,
        env=env,
        state_storage=state,
    )


def _node_record(node: UnitNode, file: tuple[str, str] | None, has_rows: bool) -> NodeRecord:
    return NodeRecord(
        uuid=node.uuid,
        unit_uuid=node.unit_uuid,
        type=node.type,
        topic_name=node.topic_name,
        visibility_level=node.visibility_level,
        is_rewritable_input=node.is_rewritable_input,
        max_connections=node.max_connections,
        state=node.state,
        state_datetime=node.last_update_datetime,
        is_data_pipe_active=node.is_data_pipe_active,
        pipeline=file[0] if file is not None else None,
        rows=_rows_member(node) if has_rows else None,
    )


def _dashboard_records(
    session: Session, user: User, position: dict[UUID, int]
) -> list[DashboardRecord]:
    records = []
    dashboards = session.scalars(
        select(Dashboard)
        .where(Dashboard.creator_uuid == user.uuid)
        .order_by(Dashboard.create_datetime, Dashboard.uuid)
    )
    for dashboard in dashboards:
        panels = []
        for panel in session.scalars(
            select(DashboardPanel)
            .where(DashboardPanel.dashboard_uuid == dashboard.uuid)
            .order_by(DashboardPanel.create_datetime, DashboardPanel.uuid)
        ):
            links = sorted(
                session.scalars(
                    select(PanelUnitNode).where(
                        PanelUnitNode.dashboard_panels_uuid == panel.uuid,
                        PanelUnitNode.unit_node_uuid.in_(position),
                    )
                ),
                key=lambda link: position[link.unit_node_uuid],
            )
            panels.append(
                PanelRecord(
                    title=panel.title,
                    type=panel.type,  # type: ignore[arg-type] - validated into the enum
                    nodes=[
                        PanelNodeRecord(
                            unit_node_uuid=link.unit_node_uuid,
                            is_last_data=link.is_last_data,
                            is_forced_to_json=link.is_forced_to_json,
                        )
                        for link in links
                    ],
                )
            )
        records.append(DashboardRecord(name=dashboard.name, panels=panels))
    return records
