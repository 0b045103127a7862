"""What restore refuses before it changes anything: a changed byte in any member or in the
manifest, an archive cut short anywhere, a member missing or added, a newer format, a schema
revision this release does not know, a key the target is configured with that is not the
archive's, and a target that is not empty. Archives here are made by a real backup of a small
instance on SQLite and chdb; the target is checked file by file to be untouched."""

import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from pepeunit_core.backup import BackupArchiveError, StoreUnavailableError, create_backup
from pepeunit_core.backup.archive import ArchiveWriter, verify_archive
from pepeunit_core.backup.clickhouse_tables import open_clickhouse
from pepeunit_core.backup.manifest import MANIFEST_MEMBER, Manifest
from pepeunit_core.clickhouse.schema import apply_clickhouse_migrations
from pepeunit_core.migrate import migrate_sql
from pepeunit_core.settings import Settings
from tests.control_plane.conftest import ENCRYPT_KEY, SECRET_KEY
from tests.flows.support import pipeline_config, seed_nodes
from tests.pepeunit_core.test_sql_migrations import newest_migration_file
from tests.services.clickhouse import ClickHouseDatabase
from tests.services.ports import free_loopback_port

ROOT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).parent / "pepeunit"


@pytest.fixture
def archive(tmp_path: Path, clickhouse_database: ClickHouseDatabase) -> Path:
    data_dir = tmp_path / "source"
    data_dir.mkdir()
    sql_url = f"sqlite:///{data_dir / 'pepeunit.sqlite'}"
    migrate_sql(sql_url)
    node = seed_nodes(
        sql_url, {"nrec": pipeline_config({"policy_type": "NRecords", "n_records_count": 5})}
    )
    apply_clickhouse_migrations(clickhouse_database.client)
    clickhouse_database.client.command(
        "INSERT INTO n_last_entry SELECT {node:UUID}, toString(number), 'Number', "
        "now64(3, 'UTC') - number, 5, 1, number FROM numbers(30)",
        parameters={"node": node["nrec"]},
    )
    settings = Settings(
        data_dir=data_dir,
        clickhouse_database_url=clickhouse_database.dsn,
        secret_key=SECRET_KEY,
        encrypt_key=ENCRYPT_KEY,
    )
    path = tmp_path / "backup.tar"
    create_backup(settings, path, chunk_rows=10)
    return path


def member_offsets(path: Path) -> dict[str, tuple[int, int]]:
    """Each member's data offset and size in the archive file."""
    with tarfile.open(path) as tar:
        return {info.name: (info.offset_data, info.size) for info in tar.getmembers()}


def changed_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def tree(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    return {
        str(file.relative_to(path)): hashlib.sha256(file.read_bytes()).hexdigest()
        for file in sorted(path.rglob("*"))
        if file.is_file()
    }


def restore(archive: Path, target: Path, *options: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PU_")}
    return subprocess.run(
        [str(CLI), "restore", str(archive), "--data-dir", str(target), *options],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
    )  # fmt: skip


def test_the_archive_verifies_and_lists_every_member(archive: Path):
    manifest, _ = verify_archive(archive)
    names = [member.name for member in manifest.members]
    assert "sql/units_nodes.jsonl" in names and "instance/secrets.json" in names
    assert [name for name in names if name.startswith("clickhouse/n_last_entry/")] == [
        f"clickhouse/n_last_entry/{chunk:06d}.native.zst" for chunk in range(3)
    ]
    assert manifest.clickhouse_row_counts["n_last_entry"] == 30
    assert manifest.sql_row_counts["units_nodes"] == 1
    assert archive.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    "member",
    [
        "sql/units.jsonl",
        "clickhouse/n_last_entry/000001.native.zst",
        "instance/secrets.json",
        MANIFEST_MEMBER,
    ],
)
def test_one_changed_byte_in_any_member_is_refused_naming_it(archive: Path, member: str):
    offset, size = member_offsets(archive)[member]
    changed_byte(archive, offset + size // 2)
    # The manifest may no longer parse (a changed byte in its JSON syntax) or no longer match its
    # own checksum: either way the refusal names it.
    with pytest.raises(BackupArchiveError, match=re.escape(member)):
        verify_archive(archive)


def test_a_changed_byte_in_a_member_header_is_refused(archive: Path):
    offset, _ = member_offsets(archive)["clickhouse/n_last_entry/000000.native.zst"]
    changed_byte(archive, offset - 512 + 10)  # in the member's name
    with pytest.raises(BackupArchiveError):
        verify_archive(archive)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.999])
def test_an_archive_cut_short_anywhere_is_refused(archive: Path, keep: float):
    data = archive.read_bytes()
    archive.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(BackupArchiveError, match=r"truncated|cut short|missing"):
        verify_archive(archive)


def rewritten(
    archive: Path,
    tmp_path: Path,
    change: Callable[[dict], None] = lambda _document: None,
    replaced: dict[str, bytes] | None = None,
) -> Path:
    """The archive with its manifest changed by `change`, the members in `replaced` replaced,
    and its checksums made to match: what someone other than `pepeunit backup` could make."""
    with tarfile.open(archive) as tar:
        document = json.loads(tar.extractfile(MANIFEST_MEMBER).read())  # type: ignore[union-attr]
        document.pop("manifest_sha256")
        change(document)
        out = tmp_path / "rewritten.tar"
        writer = ArchiveWriter(out)
        for info in tar.getmembers():
            if info.name != MANIFEST_MEMBER:
                with writer.member(info.name) as file:
                    original = tar.extractfile(info).read()  # type: ignore[union-attr]
                    file.write((replaced or {}).get(info.name, original))
    members = document.pop("members")
    manifest = Manifest(**document)
    writer.finish(manifest)
    assert members  # the writer lists the members itself
    return out


def test_a_newer_format_is_refused(archive: Path, tmp_path: Path):
    newer = rewritten(archive, tmp_path, lambda document: document.update(format_version=99))
    with pytest.raises(BackupArchiveError, match="format version 99 is newer"):
        verify_archive(newer)


def test_an_unknown_schema_revision_is_refused_before_the_target_changes(
    archive: Path, tmp_path: Path
):
    newer = rewritten(
        archive, tmp_path, lambda document: document.update(sql_migration_head="9999")
    )
    target = tmp_path / "target"
    result = restore(newer, target)
    assert result.returncode == 1
    assert "SQL schema revision '9999' is unknown to this release" in result.stderr
    assert tree(target) == {}


def test_a_member_not_in_the_manifest_is_refused(archive: Path, tmp_path: Path):
    with tarfile.open(archive, "a") as tar:
        info = tarfile.TarInfo("sql/extra.jsonl")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"{}"))
    with pytest.raises(BackupArchiveError, match=r"'sql/extra\.jsonl' is not in the manifest"):
        verify_archive(archive)


def test_tampered_and_truncated_archives_leave_a_restored_target_untouched(
    archive: Path, tmp_path: Path
):
    target = tmp_path / "target"
    first = restore(archive, target)
    assert first.returncode == 0, first.stderr
    before = tree(target)
    assert "pepeunit.sqlite" in before
    tampered = tmp_path / "tampered.tar"
    tampered.write_bytes(archive.read_bytes())
    offset, size = member_offsets(tampered)["sql/users.jsonl"]
    changed_byte(tampered, offset + size // 2)
    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size * 2 // 3])
    for bad, message in ((tampered, "'sql/users.jsonl' was changed"), (truncated, "truncated")):
        result = restore(bad, target, "--force")
        assert result.returncode == 1
        assert "cannot be restored" in result.stderr and message in result.stderr, result.stderr
        assert tree(target) == before


def test_a_non_empty_target_is_refused_unless_forced(archive: Path, tmp_path: Path):
    target = tmp_path / "target"
    assert restore(archive, target).returncode == 0
    again = restore(archive, target)
    assert again.returncode == 1
    assert "is not empty" in again.stderr and "--force" in again.stderr
    forced = restore(archive, target, "--force")
    assert forced.returncode == 0, forced.stderr


def test_a_configured_key_that_is_not_the_archives_is_refused(archive: Path, tmp_path: Path):
    target = tmp_path / "target"
    env_key = {"PU_SECRET_KEY": ENCRYPT_KEY}
    result = subprocess.run(
        [str(CLI), "restore", str(archive), "--data-dir", str(target)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("PU_")}, **env_key},
    )  # fmt: skip
    assert result.returncode == 1
    assert "PU_SECRET_KEY is not the archive's key" in result.stderr
    assert tree(target) == {}


def test_a_member_made_by_hand_is_refused_with_its_name(archive: Path, tmp_path: Path):
    header = json.dumps({"table": "users", "columns": ["uuid", "login"]}).encode()
    crafted = rewritten(archive, tmp_path, replaced={"sql/users.jsonl": header + b"\n[1, 2, 3]\n"})
    result = restore(crafted, tmp_path / "target")
    assert result.returncode == 1, result.stderr
    assert "member 'sql/users.jsonl' cannot be restored" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_backup_of_a_data_dir_that_is_not_there_makes_nothing(tmp_path: Path):
    missing = tmp_path / "mistyped"
    env = {key: value for key, value in os.environ.items() if not key.startswith("PU_")}
    result = subprocess.run(
        [str(CLI), "backup", "--output", str(tmp_path / "b.tar")],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
        env=env | {"PU_DATA_DIR": str(missing)},
    )  # fmt: skip
    assert result.returncode == 1
    assert f"no SQLite database at '{missing / 'pepeunit.sqlite'}'" in result.stderr
    assert sorted(tmp_path.iterdir()) == []


def test_a_target_migrated_past_the_archive_is_refused_even_forced(archive: Path, tmp_path: Path):
    target = tmp_path / "target"
    assert restore(archive, target).returncode == 0
    before = tree(target)
    older = rewritten(
        archive, tmp_path, lambda document: document.update(sql_migration_head="0004")
    )
    result = restore(older, target, "--force")
    assert result.returncode == 1
    head = newest_migration_file()
    assert f"at revision '{head}', past the archive's '0004'" in result.stderr, result.stderr
    assert tree(target) == before


def test_a_clickhouse_server_that_does_not_answer_is_named_without_its_password():
    url = f"http://reader:s3cret@127.0.0.1:{free_loopback_port()}/pepeunit"
    with pytest.raises(
        StoreUnavailableError, match=r"cannot open ClickHouse at http://reader:\*\*\*@"
    ) as caught:
        open_clickhouse(url)
    assert "s3cret" not in str(caught.value)
