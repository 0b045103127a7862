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
import time
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from clickhouse_connect.driver.client import Client
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from control_plane.services.broker.changes import broker_access_changed
from control_plane.services.errors import StoreUnavailableError
from control_plane.services.nodes import pipelines
from control_plane.services.registry.git_errors import GitError
from control_plane.services.registry.git_repository import clone, remove_clone
from control_plane.services.registry.registry_service import (
    RegistryError,
    git_transfer,
    max_repository_bytes,
    registry_clone_path,
)
from control_plane.services.user_export.reading import (
    ImportPlan,
    UserArchiveError,
    plan_import,
    read_records_and_pipelines,
    validate_rows,
    verified,
)
from control_plane.services.users.permissions import ensure_permission, new_permission
from pepeunit_core.crypto import Cipher
from pepeunit_core.db.config_version import bump_dataflow_config_version
from pepeunit_core.db.enums import PermissionEntity, SyncStatus
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
from pepeunit_core.pipeline_store import refresh_data_pipe_status, stored_config_json
from pepeunit_core.retry import DEFAULT_RETRY, BatchNotStoredError, Retrier
from pepeunit_core.settings import Settings
from pepeunit_core.stored_data.clickhouse_insert import clickhouse_may_heal

STORE_RETRY_SECONDS = 10.0
"""How long a failing insert of stored rows is retried before the import gives up (it runs
within a request)."""


@dataclass
class ImportReport:
    counts: dict[str, int] = field(default_factory=dict)
    units: dict[str, UUID] = field(default_factory=dict)
    """The new uuid of each unit, by name."""
    rows: int = 0


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
    manifest = verified(archive)
    records, texts = read_records_and_pipelines(archive, manifest)
    plan = plan_import(session, settings, user, records, texts)
    now = datetime.now(UTC)
    try:
        validate_rows(archive, manifest, plan, now)
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


def _clone_registries(
    settings: Settings, user: User, plan: ImportPlan
) -> dict[UUID, tuple[Path, int]]:
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


def _write(
    session: Session,
    cipher: Cipher,
    clickhouse: Client,
    retrier: Retrier,
    user: User,
    plan: ImportPlan,
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
        session.add(
            new_permission(
                PermissionEntity.USER, user.uuid, PermissionEntity.REPO, uuids[repo.uuid]
            )
        )
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
        session.add(
            new_permission(
                PermissionEntity.UNIT, new_unit.uuid, PermissionEntity.UNIT, new_unit.uuid
            )
        )
        session.add(
            new_permission(PermissionEntity.UNIT, new_unit.uuid, PermissionEntity.REPO, repo_uuid)
        )
        session.add(
            new_permission(PermissionEntity.USER, user.uuid, PermissionEntity.UNIT, new_unit.uuid)
        )
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
        session.add(
            new_permission(
                PermissionEntity.UNIT, unit_uuid, PermissionEntity.UNIT_NODE, new_node.uuid
            )
        )
        session.add(
            new_permission(
                PermissionEntity.USER, user.uuid, PermissionEntity.UNIT_NODE, new_node.uuid
            )
        )
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
