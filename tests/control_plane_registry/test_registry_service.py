"""The registry service on SQLite with real repositories: create, sync, read, delete, and each
user's credentials for private registries."""

import os
import shutil
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from control_plane.services.registry.credentials import CredentialsEntry, CredentialsStatus
from control_plane.services.registry.directory_size import directory_size
from control_plane.services.registry.registry_service import (
    RegistryError,
    RegistryGitError,
    RegistryRefusal,
    create_registry,
    delete_registry,
    get_credentials,
    list_branches,
    list_commits,
    registry_clone_path,
    set_credentials,
    sync_missing_registries,
    sync_registry,
)
from control_plane.services.registry.repository_url import WITH_LOCAL_SCHEMES
from pepeunit_core.db.enums import RepositoryPlatform, SyncStatus
from pepeunit_core.db.models import RepositoryRegistry
from pepeunit_core.db.types import utc_now
from pepeunit_core.settings import Settings
from tests.control_plane_registry.conftest import HTTP_PASSWORD
from tests.control_plane_registry.git_sources import SourceRepository, files_under
from tests.pepeunit_core.builders import add_repo, add_user

MB = 2**20


def create(session, settings, creator, url, *, is_public=True, credentials=None):
    return create_registry(
        session,
        settings,
        creator,
        url,
        RepositoryPlatform.GITLAB,
        is_public,
        credentials,
        allowed_url_schemes=WITH_LOCAL_SCHEMES,
    )


def registry_count(session) -> int:
    return session.scalar(select(func.count()).select_from(RepositoryRegistry))


def clone_directory_entries(settings) -> list[str]:
    root = settings.resolved_repo_path
    return sorted(path.name for path in root.iterdir()) if root.exists() else []


def test_create_clones_the_repository_and_lists_its_versions(session, settings, unit_repository):
    user = add_user(session)
    registry = create(session, settings, user, unit_repository.url)

    session.expire_all()
    stored = session.get(RepositoryRegistry, registry.uuid)
    assert stored.sync_status is SyncStatus.UPDATED
    assert stored.sync_error is None
    assert stored.sync_last_datetime is not None
    assert stored.creator_uuid == user.uuid
    clone_path = registry_clone_path(settings, registry.uuid)
    assert stored.local_repository_size == directory_size(clone_path) > 0
    assert clone_directory_entries(settings) == [str(registry.uuid)]

    assert list_branches(session, settings, registry.uuid) == ["dev", "feature/x", "main"]
    newest = list_commits(session, settings, registry.uuid, "main", limit=2)
    assert [c.sha for c in newest] == [unit_repository.fix, unit_repository.features]
    tagged = list_commits(session, settings, registry.uuid, "dev", only_tags=True, offset=1)
    assert [(c.sha, c.tags) for c in tagged] == [
        (unit_repository.features, ("1.0.0",)),
        (unit_repository.initial, ("v0.1.0",)),
    ]
    with pytest.raises(RegistryError, match="does not exist") as raised:
        list_commits(session, settings, registry.uuid, "nope")
    assert raised.value.reason == RegistryRefusal.INVALID


def test_create_refuses_bad_and_taken_urls(session, settings, unit_repository):
    user = add_user(session)
    with pytest.raises(RegistryError, match="must start with https://") as raised:
        create_registry(
            session, settings, user, unit_repository.url, RepositoryPlatform.GITHUB, True, None
        )
    assert raised.value.reason == RegistryRefusal.INVALID
    create(session, settings, user, unit_repository.url)
    with pytest.raises(RegistryError, match="already exists"):
        create(session, settings, add_user(session), unit_repository.url)
    assert registry_count(session) == 1


def test_failed_creates_leave_no_row_and_no_directory(session, settings, sources):
    user = add_user(session)
    big = SourceRepository(sources, "big")
    big.commit("Big", {"blob.bin": os.urandom(2 * MB)})
    big.publish()

    with pytest.raises(RegistryGitError, match="was not found") as raised:
        create(session, settings, user, (sources / "missing.git").as_uri())
    assert raised.value.reason == RegistryRefusal.INVALID
    with pytest.raises(RegistryGitError, match="larger than the limit of 1 MB"):
        create(session, settings, user, big.url)

    assert registry_count(session) == 0
    assert clone_directory_entries(settings) == []


def test_private_registry_with_per_user_credentials(
    session, settings, unit_repository, git_http_server, right_credentials, wrong_credentials
):
    creator, other = add_user(session), add_user(session)
    url = git_http_server.url("unit")

    with pytest.raises(RegistryError, match="needs credentials"):
        create(session, settings, creator, url, is_public=False)
    with pytest.raises(RegistryGitError, match="Authentication failed"):
        create(session, settings, creator, url, is_public=False, credentials=wrong_credentials)
    assert registry_count(session) == 0
    assert clone_directory_entries(settings) == []

    registry = create(
        session, settings, creator, url, is_public=False, credentials=right_credentials
    )
    assert list_branches(session, settings, registry.uuid) == ["dev", "feature/x", "main"]
    assert HTTP_PASSWORD not in registry.cipher_credentials_private_repository
    for content in files_under(registry_clone_path(settings, registry.uuid)).values():
        assert HTTP_PASSWORD.encode() not in content
    assert get_credentials(session, settings, registry.uuid, creator) == CredentialsEntry(
        right_credentials, CredentialsStatus.VALID
    )

    # Another user neither sees it nor sets credentials on it (issue 11.4).
    for call in (get_credentials, sync_registry):
        with pytest.raises(RegistryError, match="visible only to its creator") as raised:
            call(session, settings, registry.uuid, other)
        assert raised.value.reason == RegistryRefusal.FORBIDDEN
    with pytest.raises(RegistryError, match="Only the registry's creator") as raised:
        set_credentials(session, settings, registry.uuid, other, right_credentials)
    assert raised.value.reason == RegistryRefusal.FORBIDDEN

    # The creator's credentials are what every sync uses.
    status = set_credentials(session, settings, registry.uuid, creator, wrong_credentials)
    session.commit()
    assert status is CredentialsStatus.ERROR
    for caller in (creator, None):
        with pytest.raises(RegistryError, match="no valid credentials"):
            sync_registry(session, settings, registry.uuid, caller)
    status = set_credentials(session, settings, registry.uuid, creator, right_credentials)
    assert status is CredentialsStatus.VALID
    session.commit()
    sync_registry(session, settings, registry.uuid, creator)
    assert sync_registry(session, settings, registry.uuid, None).sync_status is SyncStatus.UPDATED


def test_credentials_are_only_for_private_registries(
    session, settings, unit_repository, right_credentials
):
    user = add_user(session)
    registry = create(session, settings, user, unit_repository.url, credentials=right_credentials)
    assert registry.cipher_credentials_private_repository is None
    with pytest.raises(RegistryError, match="Only private registries"):
        set_credentials(session, settings, registry.uuid, user, right_credentials)


def test_sync_brings_new_commits_and_branches(session, settings, unit_repository):
    user = add_user(session)
    registry = create(session, settings, user, unit_repository.url)
    source = unit_repository.source
    newer = source.commit("Newer", {"new.txt": b"new\n"})
    source.tag("2.0.0", newer)
    source.switch("hotfix", start=newer)
    source.publish()

    synced = sync_registry(session, settings, registry.uuid, user)

    assert synced.sync_status is SyncStatus.UPDATED
    assert synced.local_repository_size == directory_size(
        registry_clone_path(settings, registry.uuid)
    )
    assert list_branches(session, settings, registry.uuid) == ["dev", "feature/x", "hotfix", "main"]
    head = list_commits(session, settings, registry.uuid, "main", limit=1)
    assert [(c.sha, c.tags) for c in head] == [(newer, ("2.0.0",))]


def test_a_sync_is_refused_only_while_another_one_runs(session, settings, unit_repository):
    """Issue 12.2: creating is not a sync; a sync marked running (by another worker) is
    respected until it must have been killed by the git timeout."""
    patient = Settings(
        **{**settings.model_dump(), "min_interval_sync_repository": 10, "registry_git_timeout": 60}
    )
    user = add_user(session)
    registry = create(session, patient, user, unit_repository.url)
    assert sync_registry(session, patient, registry.uuid, user).sync_status is SyncStatus.UPDATED
    assert sync_registry(session, patient, registry.uuid, user).sync_status is SyncStatus.UPDATED

    registry.sync_status = SyncStatus.PROCESSING
    registry.sync_last_datetime = utc_now() - timedelta(seconds=60)
    session.commit()
    with pytest.raises(RegistryError, match="being synced right now") as raised:
        sync_registry(session, patient, registry.uuid, user)
    assert raised.value.reason == RegistryRefusal.BUSY
    session.refresh(registry)
    assert registry.sync_status is SyncStatus.PROCESSING

    registry.sync_last_datetime = utc_now() - timedelta(seconds=71)
    session.commit()
    assert sync_registry(session, patient, registry.uuid, user).sync_status is SyncStatus.UPDATED


def test_a_failed_sync_is_recorded_and_keeps_the_clone(session, settings, unit_repository):
    user = add_user(session)
    registry = create(session, settings, user, unit_repository.url)
    unit_repository.source.bare.rename(unit_repository.source.bare.with_suffix(".moved"))

    with pytest.raises(RegistryGitError, match="was not found"):
        sync_registry(session, settings, registry.uuid, user)

    session.expire_all()
    stored = session.get(RepositoryRegistry, registry.uuid)
    assert stored.sync_status is SyncStatus.ERROR
    assert stored.sync_error == f"Repository {unit_repository.url} was not found"
    assert list_branches(session, settings, registry.uuid) == ["dev", "feature/x", "main"]


def test_a_repository_grown_too_large_loses_its_clone(session, settings, unit_repository):
    user = add_user(session)
    registry = create(session, settings, user, unit_repository.url)
    unit_repository.source.commit("Big", {"blob.bin": os.urandom(2 * MB)})
    unit_repository.source.publish()

    with pytest.raises(RegistryGitError, match="larger than"):
        sync_registry(session, settings, registry.uuid, user)

    session.refresh(registry)
    assert (registry.sync_status, registry.local_repository_size) == (SyncStatus.ERROR, 0)
    assert clone_directory_entries(settings) == []
    with pytest.raises(RegistryError, match="not been synced"):
        list_branches(session, settings, registry.uuid)


def test_missing_clones_are_cloned_again(session, settings, unit_repository, sources):
    user = add_user(session)
    kept = create(session, settings, user, unit_repository.url)
    other_source = SourceRepository(sources, "other")
    other_source.commit("Only", {"a.txt": b"a\n"})
    other_source.publish()
    lost = create(session, settings, user, other_source.url)
    shutil.rmtree(registry_clone_path(settings, lost.uuid))

    assert sync_missing_registries(session, settings) == {lost.uuid: None}
    assert list_branches(session, settings, lost.uuid) == ["main"]
    assert clone_directory_entries(settings) == sorted([str(kept.uuid), str(lost.uuid)])


def test_only_the_creator_deletes_an_unused_registry(session, settings, unit_repository):
    creator, other = add_user(session), add_user(session)
    registry = create(session, settings, creator, unit_repository.url)

    with pytest.raises(RegistryError, match="Only the creator") as raised:
        delete_registry(session, settings, registry.uuid, other)
    assert raised.value.reason == RegistryRefusal.FORBIDDEN
    repo = add_repo(session, other, registry)
    session.commit()
    with pytest.raises(RegistryError, match="used by repos"):
        delete_registry(session, settings, registry.uuid, creator)

    session.delete(repo)
    delete_registry(session, settings, registry.uuid, creator)
    session.commit()

    assert registry_count(session) == 0
    assert clone_directory_entries(settings) == []
    with pytest.raises(
        RegistryError, match=f"Repository registry {registry.uuid}: not found"
    ) as raised:
        sync_registry(session, settings, registry.uuid, creator)
    assert raised.value.reason == RegistryRefusal.NOT_FOUND
