"""Firmware archives (docs/compatibility.md#firmware-archives) as the published clients unpack
them."""

import gzip
import io
import json
import tarfile
import tempfile
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from uuid import uuid4

import pytest

from control_plane.services.firmware import (
    ArchiveFormat,
    ArchiveOptionError,
    FirmwareContent,
    UnsafeTreeError,
    build_archive,
    build_tar,
    build_tgz,
    build_zip,
)
from tests.control_plane_firmware.builders import (
    BIG_BINARY,
    SAMPLE_REPO,
    SAMPLE_REPO_SHIPPED,
    files_under,
    micropython_client_unpack,
    python_client_unpack,
    sample_content,
    write_tree,
)

GENERATED = {"env.json", "schema.json"}


def _members(tar_bytes: bytes) -> list[tuple[object, ...]]:
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as archive:
        return [
            (
                member.name,
                member.type,
                member.mode,
                member.uid,
                member.uname,
                member.mtime,
                archive.extractfile(member).read() if member.isfile() else None,
            )
            for member in archive.getmembers()
        ]


def same_tar(built: bytes, again: bytes) -> bool:
    """Two builds of one content: equal bytes, or equal but for the staged files' times when a
    second passed between the builds (the generated files are written at build time)."""
    if built == again:
        return True
    first, second = _members(built), _members(again)
    if len(first) != len(second) or len(built) != len(again):
        return False
    for a, b in zip(first, second, strict=True):
        if a[:5] != b[:5] or a[6] != b[6] or abs(a[5] - b[5]) > 5:
            return False
    return True


@pytest.fixture
def temp_root(tmp_path, monkeypatch):
    """Where the builds stage their files, to see that they leave nothing behind."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


@pytest.fixture
def repo(tmp_path):
    return write_tree(tmp_path / "repo", SAMPLE_REPO)


def _tar_members(tar_bytes):
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        return tar.getmembers()


def _raw_tar_headers(tar_bytes):
    """(name, type flag) of every 512-byte header, PAX records included."""
    headers, offset = [], 0
    while offset + 512 <= len(tar_bytes) and tar_bytes[offset]:
        header = tar_bytes[offset : offset + 512]
        size = int(header[124:136].rstrip(b"\0 ") or b"0", 8)
        headers.append((header[:100].rstrip(b"\0").decode(), header[156:157]))
        offset += 512 + (size + 511) // 512 * 512
    return headers


def test_tgz_unpacks_like_the_python_client(tmp_path, repo, temp_root):
    content = sample_content(repo)

    python_client_unpack(build_tgz(content), tmp_path / "unit")

    files = files_under(tmp_path / "unit")
    assert set(files) == SAMPLE_REPO_SHIPPED | GENERATED
    assert files["lib/vendor/blob.bin"] == BIG_BINARY
    assert files["main.py"] == SAMPLE_REPO["main.py"].encode()
    assert files["lib/env.json"] == SAMPLE_REPO["lib/env.json"].encode()
    assert json.loads(files["env.json"]) == content.env_json
    assert json.loads(files["schema.json"]) == content.schema_json
    assert list(temp_root.iterdir()) == []


def test_tgz_unpacks_like_the_micropython_client(repo, temp_root):
    content = sample_content(repo)

    files = micropython_client_unpack(build_tgz(content))

    assert set(files) == SAMPLE_REPO_SHIPPED | GENERATED
    assert files["lib/vendor/blob.bin"] == BIG_BINARY
    assert json.loads(files["env.json"]) == content.env_json


def test_env_and_schema_are_json_with_four_space_indent(repo, temp_root):
    files = micropython_client_unpack(build_tgz(sample_content(repo)))

    for name in GENERATED:
        lines = files[name].decode().splitlines()
        assert lines[0] == "{"
        assert lines[1].startswith('    "')
        assert lines[1][4] != " "
    env = json.loads(files["env.json"])
    assert type(env["PU_MQTT_PORT"]) is int


def test_tar_members_are_named_dot_slash(repo, temp_root):
    members = _tar_members(build_tar(sample_content(repo)))

    names = [member.name for member in members]
    assert names[0] == "."
    assert all(name.startswith("./") for name in names[1:])
    assert {name[2:] for name in names if name != "."} == (
        SAMPLE_REPO_SHIPPED | GENERATED | {"lib", "lib/vendor"}
    )


def test_tar_headers_carry_no_pax_records_for_ordinary_names(repo, temp_root):
    headers = _raw_tar_headers(build_tar(sample_content(repo)))

    assert headers
    assert all(type_flag != b"x" for _, type_flag in headers)
    assert ("./", b"5") in headers


def test_tar_members_have_plain_modes_and_no_server_owner(repo, temp_root):
    (repo / "main.py").chmod(0o755)
    (repo / "boot.py").chmod(0o600)

    members = {member.name: member for member in _tar_members(build_tar(sample_content(repo)))}

    assert members["."].mode == 0o755
    assert members["./main.py"].mode == 0o755
    assert members["./boot.py"].mode == 0o644
    owners = {(member.uid, member.gid, member.uname, member.gname) for member in members.values()}
    assert owners == {(0, 0, "", "")}


def test_zip_holds_the_same_files_at_the_root(tmp_path, repo, temp_root):
    content = sample_content(repo)

    with zipfile.ZipFile(io.BytesIO(build_zip(content))) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path / "unit")

    assert not any(name.startswith(("./", "/")) for name in names)
    assert {"lib/", "lib/vendor/"} <= set(names)
    files = files_under(tmp_path / "unit")
    assert set(files) == SAMPLE_REPO_SHIPPED | GENERATED
    assert json.loads(files["env.json"]) == content.env_json


def test_plain_tar_holds_what_the_tgz_holds(repo, temp_root):
    content = sample_content(repo)

    assert same_tar(build_tar(content), zlib.decompress(build_tgz(content), 9))


def test_the_source_tree_is_left_as_it_was(repo, temp_root):
    before = files_under(repo)

    build_tgz(sample_content(repo))

    assert files_under(repo) == before


@pytest.mark.parametrize("archive_format", list(ArchiveFormat))
def test_a_compilable_repo_archive_holds_only_env_and_schema(tmp_path, archive_format, temp_root):
    content = sample_content(None)

    archive = build_archive(content, archive_format)

    if archive_format is ArchiveFormat.ZIP:
        assert sorted(zipfile.ZipFile(io.BytesIO(archive)).namelist()) == sorted(GENERATED)
        return
    tar_bytes = archive if archive_format is ArchiveFormat.TAR else zlib.decompress(archive, 9)
    assert sorted(member.name for member in _tar_members(tar_bytes)) == [
        ".",
        "./env.json",
        "./schema.json",
    ]
    if archive_format is ArchiveFormat.TGZ:
        files = micropython_client_unpack(archive)
        assert json.loads(files["env.json"]) == content.env_json
        assert json.loads(files["schema.json"]) == content.schema_json


def test_the_default_tgz_is_a_zlib_stream_with_a_512_byte_window(temp_root):
    archive = build_tgz(sample_content(None))

    cmf = archive[0]
    assert cmf & 0x0F == 8  # deflate
    assert (cmf >> 4) + 8 == 9  # window 2^9
    assert int.from_bytes(archive[:2], "big") % 31 == 0


def test_a_wide_window_is_what_the_clients_cannot_read(temp_root):
    archive = build_tgz(sample_content(None), wbits=15)

    assert same_tar(zlib.decompress(archive), build_tar(sample_content(None)))
    with pytest.raises(zlib.error, match="invalid window size"):
        zlib.decompress(archive, 9)


@pytest.mark.parametrize(
    ("wbits", "decompress"),
    [
        (31, gzip.decompress),
        (25, gzip.decompress),
        (-15, lambda data: zlib.decompress(data, -15)),
        (-9, lambda data: zlib.decompress(data, -9)),
        (12, lambda data: zlib.decompress(data, 12)),
    ],
)
def test_wbits_choose_gzip_raw_deflate_or_zlib(wbits, decompress, temp_root):
    content = sample_content(None)

    assert same_tar(decompress(build_tgz(content, wbits=wbits)), build_tar(content))


def test_level_chooses_the_compression(repo, temp_root):
    content = sample_content(repo)

    stored, best = build_tgz(content, level=0), build_tgz(content, level=9)

    assert len(stored) > len(build_tar(content)) > len(best)
    assert zlib.decompress(stored, 9) == zlib.decompress(best, 9)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"wbits": 8}, "wbits must be in -15..-9 .*; not 8"),
        ({"wbits": -8}, "not -8"),
        ({"wbits": 16}, "not 16"),
        ({"wbits": 24}, "not 24"),
        ({"wbits": 32}, "not 32"),
        ({"wbits": -16}, "not -16"),
        ({"wbits": True}, "not True"),
        ({"level": 10}, r"level must be in -1\.\.9; not 10"),
        ({"level": -2}, "not -2"),
    ],
)
def test_bad_tgz_options_are_refused_before_any_work(repo, options, message, temp_root):
    with pytest.raises(ArchiveOptionError, match=message):
        build_archive(sample_content(repo), ArchiveFormat.TGZ, **options)
    assert list(temp_root.iterdir()) == []


def test_a_refused_tree_leaves_no_temporary_files(repo, temp_root):
    (repo / "lib" / "leak").symlink_to("/etc/hostname")

    with pytest.raises(UnsafeTreeError):
        build_zip(sample_content(repo))

    assert list(temp_root.iterdir()) == []


def test_concurrent_builds_do_not_interfere(tmp_path, temp_root):
    trees = [
        write_tree(tmp_path / f"repo{index}", {**SAMPLE_REPO, "main.py": f"unit {index}\n"})
        for index in range(4)
    ]
    jobs = [(trees[index % 4], uuid4(), index % 4) for index in range(24)]

    def build(job):
        tree, unit_uuid, tree_index = job
        return build_tgz(sample_content(tree, unit_uuid=unit_uuid)), unit_uuid, tree_index

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(build, jobs))

    for archive, unit_uuid, tree_index in results:
        files = micropython_client_unpack(archive)
        assert files["main.py"] == f"unit {tree_index}\n".encode()
        schema = json.loads(files["schema.json"])
        assert str(unit_uuid) in schema["output_base_topic"]["state/pepeunit"][0]
        assert set(files) == SAMPLE_REPO_SHIPPED | GENERATED
    assert list(temp_root.iterdir()) == []


def test_build_archive_picks_the_format(repo, temp_root):
    content = sample_content(repo)

    assert zipfile.is_zipfile(io.BytesIO(build_archive(content, ArchiveFormat.ZIP)))
    assert same_tar(build_archive(content, "tar"), build_tar(content))
    assert same_tar(
        zlib.decompress(build_archive(content, ArchiveFormat.TGZ), 9), build_tar(content)
    )


def test_non_ascii_values_survive_the_json_files(temp_root):
    content = FirmwareContent(env_json={"A": "é"}, schema_json={}, repo_tree=None)

    files = micropython_client_unpack(build_tgz(content))

    assert json.loads(files["env.json"]) == {"A": "é"}
    assert files["schema.json"] == b"{}"
