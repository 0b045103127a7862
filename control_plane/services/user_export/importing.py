"""`import_user`: an archive made by `export_user` recreated under a user of this instance
(docs/user-export.md#import).

Everything is read and checked before anything changes: the archive's checksums and format,
its records and the references between them, every pipeline file, every stored row against
its pipeline, and that the instance can take them (names free, registries reachable). Then the
registries the instance lacks are cloned, the SQL rows are written in one transaction and the
stored rows are inserted into ClickHouse before it commits; if anything fails from there, the
rows inserted for the (new) nodes are deleted, the transaction is rolled back and the new
clones are removed.

Every object gets a new uuid (the edges, panels and pipelines follow their nodes): the same
archive can be imported beside the instance it came from once its names are free, and a
device's token, made from its unit's uuid, is new (the unit's env.json carries it).
"""

import json
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any
from uuid import UUID, uuid4

from clickhouse_connect.driver.client import Client
from pydantic import ValidationError
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from control_plane.security import Agent, AgentType
from control_plane.services.broker.changes import broker_access_changed
from control_plane.services.errors import (
    DataPipeError,
    InputValidationError,
    NotFoundError,
    ServiceError,
    StoreUnavailableError,
)
from control_plane.services.nodes import pipelines
from control_plane.services.registry.git_errors import GitError
from control_plane.services.registry.git_repository import clone, remove_clone
from control_plane.services.registry.registry_service import (
    RegistryError,
    get_visible_registry,
    git_transfer,
    max_repository_bytes,
    registry_clone_path,
)
from control_plane.services.registry.remote_access import (
    RemoteNotAllowedError,
    RemotePolicy,
    check_file_url,
)
from control_plane.services.registry.repository_url import (
    InvalidRepositoryUrlError,
    url_scheme,
    validate_repository_url,
)
from control_plane.services.repos.access import visible_repo
from control_plane.services.user_export.manifest import (
    INACTIVE_PIPELINES_DIR,
    PIPELINES_DIR,
    RECORDS_MEMBER,
    ROWS_DIR,
    ExportManifest,
)
from control_plane.services.user_export.records import (
    DERIVED_ENV,
    NodeRecord,
    UnitRecord,
    UserRecords,
)
from control_plane.services.users.permissions import ensure_permission
from pepeunit_core.backup.archive import read_members, verify_archive
from pepeunit_core.backup.manifest import BackupArchiveError
from pepeunit_core.crypto import Cipher
from pepeunit_core.db.config_version import bump_dataflow_config_version
from pepeunit_core.db.enums import PermissionEntity, SyncStatus
from pepeunit_core.db.models import (
    Dashboard,
    DashboardPanel,
    PanelUnitNode,
    Permission,
    Repo,
    RepositoryRegistry,
    Unit,
    UnitNode,
    UnitNodeEdge,
    User,
)
from pepeunit_core.pipeline_store import refresh_data_pipe_status, stored_config_json
from pepeunit_core.retry import DEFAULT_RETRY, BatchNotStoredError, Retrier
from pepeunit_core.settings import Settings
from pepeunit_core.stored_data.clickhouse_insert import clickhouse_may_heal
from pipelines.config import PipelineConfig
from pipelines.files import CheckReport, load_pipeline_text

MAX_RECORDS_BYTES = 64 * 1024 * 1024
"""records.json is read whole; an archive claiming a larger one is refused before."""
SHOWN = "the archive"
STORE_RETRY_SECONDS = 10.0
"""How long a failing insert of stored rows is retried before the import gives up (it runs
within a request)."""


class UserArchiveError(InputValidationError):
    """The archive cannot be imported; nothing was changed. The message names what is wrong."""


@dataclass
class ImportReport:
    counts: dict[str, int] = field(default_factory=dict)
    units: dict[str, UUID] = field(default_factory=dict)
    """The new uuid of each unit, by name."""
    rows: int = 0


@dataclass
class _ValidatedRows:
    node_uuid: UUID
    file: IO[bytes]
    batches: int = 0
    rows: int = 0


@dataclass
class _Plan:
    records: UserRecords
    uuids: dict[UUID, UUID]
    """Archive uuid -> uuid on this instance, for registries, repos, units and nodes."""
    new_registries: list[tuple[UUID, str]]
    """(new uuid, URL) of the registries this instance lacks; cloned before the SQL rows."""
    foreign_repos: dict[str, Repo]
    configs: dict[UUID, PipelineConfig]
    """By archive node uuid."""
    rows: list[_ValidatedRows] = field(default_factory=list)


def import_user(
    session: Session,
    settings: Settings,
    cipher: Cipher,
    clickhouse: Client,
    user: User,
    archive: Path,
    *,
    store_retry_seconds: float = STORE_RETRY_SECONDS,
) -> ImportReport:
    """Raises UserArchiveError (nothing changed) for an archive this instance does not take,
    StoreUnavailableError when ClickHouse refuses the rows for `store_retry_seconds`."""
    manifest = _verified(archive)
    records, texts = _read_records_and_pipelines(archive, manifest)
    plan = _plan(session, settings, user, records, texts)
    now = datetime.now(UTC)
    try:
        _validate_rows(archive, manifest, plan, now)
        clones = _clone_registries(settings, user, plan)
        try:
            retrier = _bounded_retrier(store_retry_seconds)
            report = _write(session, cipher, clickhouse, retrier, user, plan, clones)
        except IntegrityError:
            session.rollback()
            _remove_clones(clones)
            raise UserArchiveError(
                "A name of the archive was taken while it was being imported; nothing was "
                "imported, try again"
            ) from None
        except BatchNotStoredError as error:
            session.rollback()
            _remove_clones(clones)
            raise StoreUnavailableError(
                f"The data store (ClickHouse) did not take the stored rows ({error.__cause__}); "
                "nothing was imported"
            ) from error
        except BaseException:
            session.rollback()
            _remove_clones(clones)
            raise
    finally:
        for validated in plan.rows:
            validated.file.close()
    broker_access_changed(session, settings)
    return report


# --- reading and checking the archive ---------------------------------------------------------


def _verified(archive: Path) -> ExportManifest:
    try:
        manifest, _kept = verify_archive(archive, parse=ExportManifest.from_bytes, shown=SHOWN)
    except BackupArchiveError as error:
        raise UserArchiveError(f"The archive cannot be imported: {error}") from None
    listed = {member.name: member for member in manifest.members}
    records = listed.get(RECORDS_MEMBER)
    if records is None:
        raise UserArchiveError(f"The archive has no {RECORDS_MEMBER}")
    if records.size > MAX_RECORDS_BYTES:
        raise UserArchiveError(f"{RECORDS_MEMBER} is larger than {MAX_RECORDS_BYTES} bytes")
    for member in manifest.members:
        top = PurePosixPath(member.name).parts[0]
        if member.name != RECORDS_MEMBER and top not in _MEMBER_DIRS:
            raise UserArchiveError(f"Member {member.name!r} is not part of a user archive")
        if top in _PIPELINE_DIRS and member.size > pipelines.MAX_CONFIG_BYTES:
            raise UserArchiveError(
                f"Member {member.name!r} is larger than {pipelines.MAX_CONFIG_BYTES} bytes"
            )
    return manifest


_PIPELINE_DIRS = (PIPELINES_DIR, INACTIVE_PIPELINES_DIR)
_MEMBER_DIRS = (*_PIPELINE_DIRS, ROWS_DIR)


def _read_records_and_pipelines(
    archive: Path, manifest: ExportManifest
) -> tuple[UserRecords, dict[str, str]]:
    data = b""
    texts: dict[str, str] = {}
    with _archive_errors():
        for name, reader in read_members(archive, manifest):
            if name == RECORDS_MEMBER:
                data = reader.read()
            elif PurePosixPath(name).parts[0] in _PIPELINE_DIRS:
                try:
                    texts[name] = reader.read().decode()
                except UnicodeDecodeError:
                    raise UserArchiveError(f"{name} is not UTF-8") from None
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UserArchiveError(f"{RECORDS_MEMBER} is not JSON: {error}") from None
    try:
        records = UserRecords.model_validate(document)
    except ValidationError as error:
        raise UserArchiveError(f"{RECORDS_MEMBER} is invalid: {_described(error)}") from None
    listed = {member.name for member in manifest.members}
    for node in records.nodes:
        if node.pipeline is not None and node.pipeline not in texts:
            raise UserArchiveError(
                f"Node {node.uuid} names {node.pipeline!r}, not a pipeline file of the archive"
            )
        if node.rows is not None and (
            node.rows not in listed or PurePosixPath(node.rows).parts[0] != ROWS_DIR
        ):
            raise UserArchiveError(
                f"Node {node.uuid} names {node.rows!r}, not a rows file of the archive"
            )
        if node.rows is not None and node.pipeline is None:
            raise UserArchiveError(f"Node {node.uuid} has stored rows but no pipeline")
    _check_connections(records)
    return records, texts


@contextmanager
def _archive_errors() -> Iterator[None]:
    """A member that changed after it was verified reads as a damaged archive."""
    try:
        yield
    except BackupArchiveError as error:
        raise UserArchiveError(f"The archive cannot be imported: {error}") from None


def _described(error: ValidationError) -> str:
    shown = [
        ".".join(str(part) for part in item["loc"]) + f": {item['msg']}"
        for item in error.errors()[:5]
    ]
    more = error.error_count() - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


def _check_connections(records: UserRecords) -> None:
    limits = {node.uuid: node.max_connections for node in records.nodes}
    ends = Counter(
        uuid for edge in records.edges for uuid in (edge.node_output_uuid, edge.node_input_uuid)
    )
    pairs = Counter((edge.node_output_uuid, edge.node_input_uuid) for edge in records.edges)
    for pair, count in pairs.items():
        if count > 1:
            raise UserArchiveError(f"The edge {pair[0]} -> {pair[1]} appears twice")
    for uuid, count in ends.items():
        if count > limits[uuid]:
            raise UserArchiveError(
                f"Node {uuid} has {count} edges, more than its {limits[uuid]} connections"
            )


def _plan(
    session: Session,
    settings: Settings,
    user: User,
    records: UserRecords,
    texts: dict[str, str],
) -> _Plan:
    """What the import makes, once this instance can take all of it."""
    uuids: dict[UUID, UUID] = {}
    new_registries: list[tuple[UUID, str]] = []
    for registry in records.registries:
        existing = session.scalars(
            select(RepositoryRegistry).where(
                RepositoryRegistry.repository_url == registry.repository_url
            )
        ).one_or_none()
        if existing is not None:
            try:
                get_visible_registry(session, existing.uuid, user.uuid)
            except RegistryError as error:
                raise UserArchiveError(f"Registry {registry.repository_url}: {error}") from None
            uuids[registry.uuid] = existing.uuid
        elif not registry.is_public_repository:
            raise UserArchiveError(
                f"Registry {registry.repository_url} is private and not on this instance: "
                "register it with its credentials first, then import again"
            )
        else:
            _check_registry_url(settings, registry.repository_url)
            uuids[registry.uuid] = uuid4()
            new_registries.append((uuids[registry.uuid], registry.repository_url))
    for repo in records.repos:
        _ensure_free(session, Repo, repo.name, "repo")
        uuids[repo.uuid] = uuid4()
    owned_repos = {repo.uuid for repo in records.repos}
    foreign_repos: dict[str, Repo] = {}
    agent = Agent(AgentType.USER, user.uuid, user)
    for unit in records.units:
        _check_secrets(settings, unit)
        _ensure_free(session, Unit, unit.name, "unit")
        uuids[unit.uuid] = uuid4()
        if unit.repo_uuid in owned_repos:
            continue
        found = session.scalars(select(Repo).where(Repo.name == unit.repo_name)).one_or_none()
        try:
            if found is None:
                raise NotFoundError
            foreign_repos[unit.repo_name] = visible_repo(session, agent, found.uuid)
        except (ServiceError, RegistryError):
            raise UserArchiveError(
                f"Unit {unit.name} is built on the repo {unit.repo_name}, which is not on this "
                "instance or not visible to you"
            ) from None
    limit = settings.grafana_limit_unit_node_per_one_panel
    for dashboard in records.dashboards:
        for panel in dashboard.panels:
            if len(panel.nodes) > limit:
                raise UserArchiveError(f"Panel {panel.title} shows more than {limit} unit nodes")
    configs: dict[UUID, PipelineConfig] = {}
    for node in records.nodes:
        uuids[node.uuid] = uuid4()
        if node.pipeline is not None:
            configs[node.uuid] = _pipeline_config(settings, node, texts[node.pipeline])
    return _Plan(records, uuids, new_registries, foreign_repos, configs)


def _check_secrets(settings: Settings, unit: UnitRecord) -> None:
    """The env holds only the unit's own values and keys (the instance makes the rest), and
    both fit what the instance stores."""
    if unit.env is not None:
        derived = sorted(set(unit.env) & DERIVED_ENV)
        if derived:
            raise UserArchiveError(
                f"Unit {unit.name}: the env sets {', '.join(derived)}, which this instance makes"
            )
    for what, text in (("env", json.dumps(unit.env)), ("state storage", unit.state_storage)):
        if text is not None and len(text) > settings.max_cipher_length:
            raise UserArchiveError(
                f"Unit {unit.name}: the {what} is longer than {settings.max_cipher_length} "
                "characters"
            )


def _check_registry_url(settings: Settings, url: str) -> None:
    try:
        validate_repository_url(url, frozenset(settings.registry_allowed_url_schemes))
        if url_scheme(url) == "file":
            check_file_url(url, RemotePolicy.from_settings(settings))
    except (InvalidRepositoryUrlError, RemoteNotAllowedError) as error:
        raise UserArchiveError(f"Registry {url}: {error}") from None


def _ensure_free(session: Session, model: type[Repo] | type[Unit], name: str, what: str) -> None:
    if session.scalar(select(exists().where(model.name == name))):
        raise UserArchiveError(f"The {what} name {name!r} is taken on this instance")


def _pipeline_config(settings: Settings, node: NodeRecord, text: str) -> PipelineConfig:
    assert node.pipeline is not None
    report = CheckReport()
    loaded = load_pipeline_text(
        Path(node.pipeline),
        text,
        require_binding=False,
        max_payload_size=settings.mqtt_max_payload_bytes,
        report=report,
    )
    if loaded is None:
        problems = "; ".join(str(problem) for problem in report.errors[:5])
        raise UserArchiveError(f"The pipeline of node {node.uuid} is invalid: {problems}")
    return loaded.config


def _validate_rows(archive: Path, manifest: ExportManifest, plan: _Plan, now: datetime) -> None:
    """Every stored row checked against its node's pipeline, into temporary files."""
    by_member = {node.rows: node for node in plan.records.nodes if node.rows is not None}
    with _archive_errors():
        for name, reader in read_members(archive, manifest):
            node = by_member.get(name)
            if node is None:
                if PurePosixPath(name).parts[0] == ROWS_DIR:
                    raise UserArchiveError(f"Member {name!r} belongs to no node of the archive")
                continue
            target = UnitNode(
                uuid=plan.uuids[node.uuid],
                data_pipe_yml=stored_config_json(plan.configs[node.uuid]),
            )
            validated = tempfile.TemporaryFile()  # noqa: SIM115 - closed by import_user
            plan.rows.append(_ValidatedRows(target.uuid, validated))
            with tempfile.TemporaryFile() as csv_file:
                shutil.copyfileobj(reader, csv_file)
                try:
                    rows, batches = pipelines.validate_csv(
                        target, csv_file, now, validated, skip_expired=True
                    )
                except DataPipeError as error:
                    raise UserArchiveError(f"{name}: {error.message}") from None
            plan.rows[-1].batches, plan.rows[-1].rows = batches, rows


def _clone_registries(settings: Settings, user: User, plan: _Plan) -> dict[UUID, tuple[Path, int]]:
    """Clones (path, size) of the registries this instance lacks, by their new uuid; none are
    left when one fails."""
    made: dict[UUID, tuple[Path, int]] = {}
    try:
        for uuid, url in plan.new_registries:
            path = registry_clone_path(settings, uuid)
            with git_transfer(settings, url, user.uuid, wait=True) as target:
                size = clone(
                    url,
                    path,
                    credentials=None,
                    max_size_bytes=max_repository_bytes(settings),
                    timeout=settings.registry_git_timeout,
                    target=target,
                )
            made[uuid] = (path, size)
    except (GitError, RegistryError) as error:
        _remove_clones(made)
        raise UserArchiveError(f"Registry {url} cannot be cloned: {error}") from None
    except BaseException:
        _remove_clones(made)
        raise
    return made


# --- writing ----------------------------------------------------------------------------------


def _write(
    session: Session,
    cipher: Cipher,
    clickhouse: Client,
    retrier: Retrier,
    user: User,
    plan: _Plan,
    clones: dict[UUID, tuple[Path, int]],
) -> ImportReport:
    records, uuids = plan.records, plan.uuids
    report = ImportReport()
    new_urls = dict(plan.new_registries)
    for registry in records.registries:
        new_uuid = uuids[registry.uuid]
        if new_uuid in new_urls:
            session.add(
                RepositoryRegistry(
                    uuid=new_uuid,
                    platform=registry.platform,
                    repository_url=registry.repository_url,
                    is_public_repository=True,
                    creator_uuid=user.uuid,
                    sync_status=SyncStatus.UPDATED,
                    sync_last_datetime=datetime.now(UTC),
                    local_repository_size=clones[new_uuid][1],
                )
            )
    session.flush()
    for repo in records.repos:
        session.add(
            Repo(
                **repo.model_dump(exclude={"uuid", "repository_registry_uuid"}),
                uuid=uuids[repo.uuid],
                repository_registry_uuid=uuids[repo.repository_registry_uuid],
                creator_uuid=user.uuid,
            )
        )
    session.flush()
    for repo in records.repos:
        _grant(session, PermissionEntity.USER, user.uuid, PermissionEntity.REPO, uuids[repo.uuid])
    for unit in records.units:
        repo_uuid = (
            uuids[unit.repo_uuid]
            if unit.repo_uuid is not None
            else plan.foreign_repos[unit.repo_name].uuid
        )
        new_unit = Unit(
            uuid=uuids[unit.uuid],
            name=unit.name,
            visibility_level=unit.visibility_level,
            is_auto_update_from_repo_unit=unit.is_auto_update_from_repo_unit,
            target_firmware_platform=unit.target_firmware_platform,
            repo_branch=unit.repo_branch,
            repo_commit=unit.repo_commit,
            cipher_env_dict=cipher.encrypt(json.dumps(unit.env)) if unit.env else None,
            cipher_state_storage=cipher.encrypt(unit.state_storage) if unit.state_storage else None,
            creator_uuid=user.uuid,
            repo_uuid=repo_uuid,
        )
        session.add(new_unit)
        session.flush()
        _grant(session, PermissionEntity.UNIT, new_unit.uuid, PermissionEntity.UNIT, new_unit.uuid)
        _grant(session, PermissionEntity.UNIT, new_unit.uuid, PermissionEntity.REPO, repo_uuid)
        _grant(session, PermissionEntity.USER, user.uuid, PermissionEntity.UNIT, new_unit.uuid)
        report.units[unit.name] = new_unit.uuid
    pipelines_changed = bool(records.edges)
    for node in records.nodes:
        config = plan.configs.get(node.uuid)
        new_node = UnitNode(
            uuid=uuids[node.uuid],
            type=node.type,
            visibility_level=node.visibility_level,
            is_rewritable_input=node.is_rewritable_input,
            max_connections=node.max_connections,
            topic_name=node.topic_name,
            state=node.state,
            is_data_pipe_active=node.is_data_pipe_active and config is not None,
            data_pipe_yml=stored_config_json(config) if config is not None else None,
            last_update_datetime=node.state_datetime,
            creator_uuid=user.uuid,
            unit_uuid=uuids[node.unit_uuid],
        )
        refresh_data_pipe_status(new_node)
        pipelines_changed |= new_node.is_data_pipe_active
        session.add(new_node)
        session.flush()
        unit_uuid = uuids[node.unit_uuid]
        _grant(session, PermissionEntity.UNIT, unit_uuid, PermissionEntity.UNIT_NODE, new_node.uuid)
        _grant(session, PermissionEntity.USER, user.uuid, PermissionEntity.UNIT_NODE, new_node.uuid)
    node_units = {uuids[node.uuid]: uuids[node.unit_uuid] for node in records.nodes}
    for edge in records.edges:
        output, input_ = uuids[edge.node_output_uuid], uuids[edge.node_input_uuid]
        session.add(
            UnitNodeEdge(node_output_uuid=output, node_input_uuid=input_, creator_uuid=user.uuid)
        )
        session.flush()
        unit_agent = PermissionEntity.UNIT
        node_kind, unit_kind = PermissionEntity.UNIT_NODE, PermissionEntity.UNIT
        ensure_permission(session, unit_agent, node_units[output], node_kind, input_)
        ensure_permission(session, unit_agent, node_units[input_], node_kind, output)
        ensure_permission(session, unit_agent, node_units[output], unit_kind, node_units[input_])
    for dashboard in records.dashboards:
        new_dashboard = Dashboard(name=dashboard.name, creator_uuid=user.uuid)
        session.add(new_dashboard)
        session.flush()
        for panel in dashboard.panels:
            new_panel = DashboardPanel(
                type=panel.type.value,
                title=panel.title,
                dashboard_uuid=new_dashboard.uuid,
                creator_uuid=user.uuid,
            )
            session.add(new_panel)
            session.flush()
            for link in panel.nodes:
                session.add(
                    PanelUnitNode(
                        unit_node_uuid=uuids[link.unit_node_uuid],
                        dashboard_panels_uuid=new_panel.uuid,
                        is_last_data=link.is_last_data,
                        is_forced_to_json=link.is_forced_to_json,
                        creator_uuid=user.uuid,
                    )
                )
    if pipelines_changed:
        bump_dataflow_config_version(session)
    session.flush()
    inserted = [validated.node_uuid for validated in plan.rows]
    try:
        for validated in plan.rows:
            pipelines.insert_validated(clickhouse, validated.file, validated.batches, retrier)
        session.commit()
    except BaseException:
        session.rollback()
        _delete_rows(clickhouse, inserted)
        raise
    report.counts = {
        "registries": len(plan.new_registries),
        "repos": len(records.repos),
        "units": len(records.units),
        "nodes": len(records.nodes),
        "edges": len(records.edges),
        "pipelines": len(plan.configs),
        "dashboards": len(records.dashboards),
    }
    report.rows = sum(validated.rows for validated in plan.rows)
    return report


def _grant(
    session: Session,
    agent_type: PermissionEntity,
    agent_uuid: UUID,
    resource_type: PermissionEntity,
    resource_uuid: UUID,
) -> None:
    agent_column = "agent_user_uuid" if agent_type is PermissionEntity.USER else "agent_unit_uuid"
    resource_column = {
        PermissionEntity.REPO: "resource_repo_uuid",
        PermissionEntity.UNIT: "resource_unit_uuid",
        PermissionEntity.UNIT_NODE: "resource_unit_node_uuid",
    }[resource_type]
    columns: dict[str, Any] = {agent_column: agent_uuid, resource_column: resource_uuid}
    session.add(Permission(agent_type=agent_type, resource_type=resource_type, **columns))


def _delete_rows(clickhouse: Client, node_uuids: list[UUID]) -> None:
    """Best effort: the nodes are new, so any row under their uuids is this import's."""
    for uuid in node_uuids:
        with suppress(Exception):  # the first error is the one to report
            pipelines.delete_data(clickhouse, uuid)


def _bounded_retrier(budget_s: float) -> Retrier:
    """Retries what ClickHouse may heal, until the pauses add up to `budget_s`."""
    waited = 0.0

    def sleep(delay: float) -> None:
        nonlocal waited
        if waited + delay > budget_s:
            retrier.stop()
            return
        waited += delay
        time.sleep(delay)

    retrier = Retrier(DEFAULT_RETRY, clickhouse_may_heal, sleep=sleep)
    return retrier


def _remove_clones(clones: dict[UUID, tuple[Path, int]]) -> None:
    for path, _size in clones.values():
        remove_clone(path)
