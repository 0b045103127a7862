"""Clones of real repositories over file://: cloning, fetching, and reading branches, commits,
tags and files."""

import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from control_plane.services.registry.directory_size import directory_size
from control_plane.services.registry.git_errors import (
    RepositoryNotFoundError,
    RepositoryTooLargeError,
    RevisionNotFoundError,
)
from control_plane.services.registry.git_repository import (
    branches,
    checkout_tree,
    clone,
    commit_is_on_branch,
    commits,
    fetch,
    file_at,
    is_clone,
    remove_clone,
)
from tests.control_plane_registry.git_sources import SCHEMA_EXAMPLE, SourceRepository, git

MB = 2**20


@pytest.fixture
def cloned(unit_repository, clones):
    path = clones / "unit"
    clone(unit_repository.url, path, credentials=None, max_size_bytes=MB)
    return path


@pytest.fixture(scope="module")
def shared_clone(unit_repository_template, tmp_path_factory):
    """A clone for the tests that only read: made once per module."""
    path = tmp_path_factory.mktemp("shared-clone") / "unit"
    clone(unit_repository_template.url, path, credentials=None, max_size_bytes=MB)
    return path


def test_clone_holds_every_branch_and_reports_its_size(unit_repository, clones):
    path = clones / "unit"
    size = clone(unit_repository.url, path, credentials=None, max_size_bytes=MB)

    assert is_clone(path)
    assert branches(path) == ["dev", "feature/x", "main"]
    assert size == directory_size(path) > 0
    assert [entry.name for entry in clones.iterdir()] == ["unit"]  # no temporary left


def test_commits_are_newest_first_with_their_tags(unit_repository_template, shared_clone):
    listed = commits(shared_clone, "main")

    assert [commit.sha for commit in listed] == [
        unit_repository_template.fix,
        unit_repository_template.features,
        unit_repository_template.initial,
    ]
    assert [commit.tags for commit in listed] == [(), ("1.0.0",), ("v0.1.0",)]
    assert listed[1].summary == "Add features"
    assert listed[0].datetime == datetime.fromtimestamp(1_700_000_180, UTC)
    assert listed[0].datetime.tzinfo is UTC


def test_a_branch_shows_only_the_tags_on_its_own_commits(unit_repository_template, shared_clone):
    assert [commit.tags for commit in commits(shared_clone, "dev")] == [
        ("dev-1",),
        ("1.0.0",),
        ("v0.1.0",),
    ]
    assert [commit.tags for commit in commits(shared_clone, "feature/x")] == [(), ("v0.1.0",)]


def test_commits_page_with_offset_limit_and_only_tagged(unit_repository_template, shared_clone):
    assert [c.sha for c in commits(shared_clone, "main", 1, offset=1)] == [
        unit_repository_template.features
    ]
    assert commits(shared_clone, "main", 0) == []
    tagged = commits(shared_clone, "main", only_tagged=True)
    assert [c.sha for c in tagged] == [
        unit_repository_template.features,
        unit_repository_template.initial,
    ]
    assert [c.sha for c in commits(shared_clone, "main", 5, offset=1, only_tagged=True)] == [
        unit_repository_template.initial
    ]


def test_unknown_branch_is_an_error(shared_clone):
    with pytest.raises(RevisionNotFoundError, match="nope"):
        commits(shared_clone, "nope")
    with pytest.raises(RevisionNotFoundError):
        commit_is_on_branch(shared_clone, "abcd", "../heads/main")


def test_file_at_reads_a_file_as_committed(unit_repository_template, shared_clone):
    assert (
        file_at(shared_clone, unit_repository_template.initial, "schema_example.json")
        == SCHEMA_EXAMPLE
    )
    assert file_at(shared_clone, unit_repository_template.initial, "main.py") == b"print('hello')\n"
    assert file_at(shared_clone, unit_repository_template.fix, "main.py") == b"print('hello!')\n"
    assert file_at(shared_clone, unit_repository_template.fix[:10], "lib/util.py") == b"VALUE = 1\n"
    assert file_at(shared_clone, unit_repository_template.initial, "lib/util.py") is None
    assert file_at(shared_clone, unit_repository_template.fix, "lib") is None  # a directory


@pytest.mark.parametrize("commit", ["0" * 40, "HEAD", "--output=/tmp/x", "main", ""])
def test_file_at_an_unknown_commit_is_an_error(shared_clone, commit):
    with pytest.raises(RevisionNotFoundError):
        file_at(shared_clone, commit, "main.py")


def test_checkout_tree_exports_files_modes_and_links(
    unit_repository_template, shared_clone, tmp_path
):
    destination = tmp_path / "export"
    checkout_tree(shared_clone, unit_repository_template.fix, destination)

    exported = sorted(
        str(path.relative_to(destination)) for path in destination.rglob("*") if not path.is_dir()
    )
    assert exported == [
        "bin/run.sh",
        "entry.py",
        "env_example.json",
        "lib/util.py",
        "main.py",
        "schema_example.json",
    ]
    assert (destination / "main.py").read_bytes() == b"print('hello!')\n"
    assert os.access(destination / "bin/run.sh", os.X_OK)
    assert not os.access(destination / "main.py", os.X_OK)
    assert os.readlink(destination / "entry.py") == "main.py"

    with pytest.raises(FileExistsError):
        checkout_tree(shared_clone, unit_repository_template.fix, destination)


def test_commit_is_on_branch(unit_repository_template, shared_clone):
    assert commit_is_on_branch(shared_clone, unit_repository_template.dev_work, "dev")
    assert commit_is_on_branch(shared_clone, unit_repository_template.features, "dev")
    assert not commit_is_on_branch(shared_clone, unit_repository_template.dev_work, "main")
    assert commit_is_on_branch(shared_clone, unit_repository_template.initial, "feature/x")
    assert not commit_is_on_branch(shared_clone, unit_repository_template.fix, "feature/x")
    assert not commit_is_on_branch(shared_clone, "0" * 40, "main")


def test_fetch_brings_new_commits_branches_and_tags_and_drops_removed_ones(unit_repository, cloned):
    before = commits(cloned, "main")  # read (and cached) before the fetch
    source = unit_repository.source
    newer = source.commit("Newer", {"new.txt": b"new\n"})
    source.tag("2.0.0", newer, annotated=True)
    source.switch("release", start=unit_repository.features)
    source.switch("main")
    source.delete_branch("feature/x")
    source.delete_tag("v0.1.0")
    source.publish()

    size = fetch(cloned, None, max_size_bytes=MB)

    assert size == directory_size(cloned)
    assert branches(cloned) == ["dev", "main", "release"]
    main = commits(cloned, "main")
    assert [commit.sha for commit in main[1:]] == [commit.sha for commit in before]
    assert (main[0].sha, main[0].tags) == (newer, ("2.0.0",))
    assert main[-1].tags == ()  # v0.1.0 was deleted
    assert file_at(cloned, newer, "new.txt") == b"new\n"


def test_a_moved_tag_follows_the_remote(unit_repository, cloned):
    assert [c.tags for c in commits(cloned, "main")] == [(), ("1.0.0",), ("v0.1.0",)]
    source = unit_repository.source
    source.delete_tag("1.0.0")
    source.tag("1.0.0", unit_repository.fix)
    source.publish()

    fetch(cloned, None)

    assert [c.tags for c in commits(cloned, "main")] == [("1.0.0",), (), ("v0.1.0",)]


def test_a_missing_repository_leaves_nothing_behind(sources, clones):
    url = (sources / "missing.git").as_uri()
    with pytest.raises(RepositoryNotFoundError, match="was not found") as raised:
        clone(url, clones / "missing", credentials=None, max_size_bytes=MB)

    assert str(raised.value) == f"Repository {url} was not found"
    assert list(clones.iterdir()) == []


def _big_source(sources, name: str = "big") -> SourceRepository:
    source = SourceRepository(sources, name)
    source.commit("Big", {"blob.bin": os.urandom(2 * MB)})
    source.publish()
    return source


def test_a_too_large_repository_leaves_nothing_behind(sources, clones):
    source = _big_source(sources)
    with pytest.raises(RepositoryTooLargeError, match="larger than the limit of 1 MB"):
        clone(source.url, clones / "big", credentials=None, max_size_bytes=MB)

    assert list(clones.iterdir()) == []


def test_a_fetch_over_the_limit_is_refused(unit_repository, cloned):
    unit_repository.source.commit("Big", {"blob.bin": os.urandom(2 * MB)})
    unit_repository.source.publish()

    with pytest.raises(RepositoryTooLargeError):
        fetch(cloned, None, max_size_bytes=MB)


def test_clone_refuses_an_existing_destination(unit_repository_template, shared_clone):
    with pytest.raises(FileExistsError):
        clone(unit_repository_template.url, shared_clone, credentials=None, max_size_bytes=MB)


def test_remove_clone(cloned, clones):
    remove_clone(cloned)
    remove_clone(cloned)

    assert not is_clone(cloned)
    assert list(clones.iterdir()) == []


def test_reads_between_fetches_come_from_memory(unit_repository, cloned):
    """Only a fetch changes a clone: a ref moved behind its back is not seen until the next."""
    main = commits(cloned, "main")
    schema = file_at(cloned, unit_repository.fix, "schema_example.json")
    git("update-ref", "refs/remotes/origin/main", unit_repository.initial, cwd=cloned)

    assert commits(cloned, "main") == main
    assert file_at(cloned, unit_repository.fix, "schema_example.json") == schema
    fetch(cloned, None)
    assert commits(cloned, "main") == main  # the fetch put the ref back, and was noticed


def test_a_fetch_by_another_process_is_seen_at_the_next_read(unit_repository, cloned):
    assert len(commits(cloned, "main")) == 3
    newer = unit_repository.source.commit("Newer", {"new.txt": b"new\n"})
    unit_repository.source.publish()
    script = (
        "import sys; from pathlib import Path;"
        "from control_plane.services.registry.git_repository import fetch;"
        "fetch(Path(sys.argv[1]), None)"
    )
    subprocess.run([sys.executable, "-c", script, str(cloned)], check=True, timeout=60)

    assert [c.sha for c in commits(cloned, "main")][:2] == [newer, unit_repository.fix]
