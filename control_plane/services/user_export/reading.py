"""Reading a per-user archive for an import, and checking all of it before anything changes
(docs/user-export.md#import): its checksums and format, its records and the references
between them, every pipeline file, every stored row against its pipeline, and that this
instance can take them. What comes out is the plan `importing` carries out."""

import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import IO
from uuid import UUID, uuid4

from pydantic import ValidationError
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from control_plane.security import Agent, AgentType
from control_plane.services.errors import (
    DataPipeError,
    InputValidationError,
    NotFoundError,
    ServiceError,
)
from control_plane.services.nodes import pipelines
from control_plane.services.registry.registry_service import (
    RegistryError,
    get_visible_registry,
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
from pepeunit_core.backup.archive import read_members, verify_archive
from pepeunit_core.backup.manifest import BackupArchiveError
from pepeunit_core.db.models import (
    Repo,
    RepositoryRegistry,
    Unit,
    UnitNode,
    User,
)
from pepeunit_core.pipeline_store import stored_config_json
from pepeunit_core.settings import Settings
from pipelines.config import PipelineConfig
from pipelines.files import CheckReport, load_pipeline_text

MAX_RECORDS_BYTES = 64 * 1024 * 1024
"""records.json is read whole; an archive claiming a larger one is refused before."""
SHOWN = "the archive"


class UserArchiveError(InputValidationError):
    """The archive cannot be imported; nothing was changed. The message names what is wrong."""


@dataclass
class ValidatedRows:
    node_uuid: UUID
    file: IO[bytes]
    batches: int = 0
    rows: int = 0


@dataclass
class ImportPlan:
    records: UserRecords
    uuids: dict[UUID, UUID]
    """Archive uuid -> uuid on this instance, for registries, repos, units and nodes."""
    new_registries: list[tuple[UUID, str]]
    """(new uuid, URL) of the registries this instance lacks; cloned before the SQL rows."""
    foreign_repos: dict[str, Repo]
    configs: dict[UUID, PipelineConfig]
    """By archive node uuid."""
    rows: list[ValidatedRows] = field(default_factory=list)


def verified(archive: Path) -> ExportManifest:
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


def read_records_and_pipelines(
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


def plan_import(
    session: Session,
    settings: Settings,
    user: User,
    records: UserRecords,
    texts: dict[str, str],
) -> ImportPlan:
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
    return ImportPlan(records, uuids, new_registries, foreign_repos, configs)


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


def validate_rows(archive: Path, manifest: ExportManifest, plan: ImportPlan, now: datetime) -> None:
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
            plan.rows.append(ValidatedRows(target.uuid, validated))
            with tempfile.TemporaryFile() as csv_file:
                shutil.copyfileobj(reader, csv_file)
                try:
                    rows, batches = pipelines.validate_csv(
                        target, csv_file, now, validated, skip_expired=True
                    )
                except DataPipeError as error:
                    raise UserArchiveError(f"{name}: {error.message}") from None
            plan.rows[-1].batches, plan.rows[-1].rows = batches, rows
