"""update_device_program: the platform's real archives in every format, then hostile and odd
archives built here. A refused archive changes nothing."""

import io
import json
import os
import tarfile
import time
import zipfile
import zlib
from pathlib import Path

import pytest
from pepeunit_sdk import (
    FileContentError,
    PepeunitClient,
    UnsafeArchiveError,
    UnsupportedArchiveError,
)

from tests.sdk.conftest import MakeClient, UnitFiles
from tests.sdk.live_platform import Platform

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJ1dWlkIjoiMTExMTExMTEtMjIyMi0zMzMzLTQ0NDQtNTU1NTU1NTU1NTU1In0.c2ln"


def file_member(name: str, content: bytes, mode: int = 0o644, mtime: float = 0) -> tuple:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(content), mode, mtime or time.time()
    return info, content


def link_member(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tuple:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, None


def tar_bytes(*members: tuple) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for info, content in members:
            archive.addfile(info, None if content is None else io.BytesIO(content))
    return buffer.getvalue()


def zlib_stream(data: bytes, wbits: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return compressor.compress(data) + compressor.flush()


@pytest.fixture
def local_client(tmp_path: Path) -> PepeunitClient:
    """A client on local files only: update_device_program needs no network."""
    program = tmp_path / "program"
    program.mkdir()
    (program / "env.json").write_text(json.dumps({"PU_AUTH_TOKEN": TOKEN, "KEPT": "local"}))
    (program / "schema.json").write_text(json.dumps({"output_topic": {"out/pepeunit": ["x"]}}))
    return PepeunitClient(program / "env.json", program / "schema.json", program / "log.json")


def snapshot(root: Path) -> dict[str, bytes | str]:
    return {
        str(path.relative_to(root)): (
            f"-> {os.readlink(path)}" if path.is_symlink() else path.read_bytes()
        )
        for path in sorted(root.rglob("*"))
        if path.is_symlink() or path.is_file()
    }


@pytest.mark.parametrize(
    ("archive_format", "query"),
    [("tgz", ""), ("tgz", "?wbits=31&level=1"), ("tgz", "?wbits=15"), ("zip", ""), ("tar", "")],
    ids=["tgz-zlib-window-9", "tgz-gzip", "tgz-zlib-window-15", "zip", "tar"],
)
def test_the_platform_archives_install_in_every_format(
    platform: Platform,
    unit: UnitFiles,
    make_client: MakeClient,
    tmp_path: Path,
    archive_format: str,
    query: str,
):
    archive = tmp_path / f"firmware.{archive_format}"
    archive.write_bytes(platform.firmware(unit.uuid, archive_format, query))
    client = make_client()
    result = client.update_device_program(archive)
    program = unit.program_dir
    assert (program / "main.py").read_bytes().startswith(b'"""A unit\'s program')
    assert (program / "lib" / "helpers.py").read_text() == "ANSWER = 1\n"
    assert json.loads(unit.env_path.read_text()) == platform.env(unit.uuid)
    assert json.loads(unit.schema_path.read_text()) == platform.schema(unit.uuid)
    assert result.env_replaced and result.schema_replaced
    assert program / "main.py" in result.installed
    assert not list(program.glob(".pepeunit-*"))
    assert archive.exists()  # the caller's file: perform_update removes its own download


def test_files_land_with_their_modes_and_inner_symlinks(local_client: PepeunitClient):
    program = local_client.program_dir
    (program / "old.txt").write_text("stays")
    archive = program.parent / "update.tar"
    archive.write_bytes(
        tar_bytes(
            file_member("./bin/run.sh", b"#!/bin/sh\n", mode=0o4755),
            file_member("./lib/x.py", b"X = 1\n"),
            link_member("./entry.py", "lib/x.py"),
            link_member("./lib/same.py", "../lib/x.py"),
            link_member("./lib/hard.py", "./lib/x.py", tarfile.LNKTYPE),
        )
    )
    local_client.update_device_program(archive)
    assert (program / "bin" / "run.sh").stat().st_mode & 0o7777 == 0o755
    assert (program / "lib" / "x.py").stat().st_mode & 0o7777 == 0o644
    assert (program / "entry.py").read_text() == "X = 1\n"
    assert os.readlink(program / "entry.py") == "lib/x.py"
    assert (program / "lib" / "same.py").read_text() == "X = 1\n"
    assert (program / "lib" / "hard.py").read_text() == "X = 1\n"
    assert (program / "old.txt").read_text() == "stays"
    assert local_client.settings.KEPT == "local"


@pytest.mark.parametrize(
    "members",
    [
        [file_member("../evil.txt", b"x")],
        [file_member("./lib/../../evil.txt", b"x")],
        [file_member("/tmp/evil.txt", b"x")],
        [link_member("./escape", "../outside")],
        [link_member("./escape", "/etc")],
        [link_member("./lib", "."), file_member("./lib/evil.txt", b"x")],
        # Each link alone stays inside; together `up` resolves to `./..`.
        [link_member("./up", "d/.."), link_member("./d", ".")],
        [link_member("./hard", "../outside", tarfile.LNKTYPE)],
        [(tarfile.TarInfo("./fifo"), None)],
    ],
    ids=[
        "parent",
        "parent-inside-name",
        "absolute",
        "symlink-up",
        "symlink-absolute",
        "below-symlink",
        "symlink-chain",
        "hard-link-up",
        "fifo",
    ],
)
def test_escaping_archives_are_refused_and_change_nothing(
    local_client: PepeunitClient, members: list[tuple]
):
    if members[0][0].name == "./fifo":
        members[0][0].type = tarfile.FIFOTYPE
    program = local_client.program_dir
    archive = program.parent / "evil.tar"
    archive.write_bytes(tar_bytes(file_member("./innocent.py", b"ok"), *members))
    before = snapshot(program.parent)
    with pytest.raises(UnsafeArchiveError):
        local_client.update_device_program(archive)
    assert snapshot(program.parent) == before
    assert not list(program.glob(".pepeunit-*"))


def test_zip_traversal_and_symlinks_are_refused(local_client: PepeunitClient):
    program = local_client.program_dir
    for name, attributes, content in [
        ("../evil.txt", 0o644 << 16, b"x"),
        ("/evil.txt", 0o644 << 16, b"x"),
        ("link", (0o120777 << 16), b"../../outside"),
    ]:
        archive = program.parent / "evil.zip"
        with zipfile.ZipFile(archive, "w") as writer:
            writer.writestr("ok.py", b"ok")
            info = zipfile.ZipInfo(name)
            info.external_attr = attributes
            writer.writestr(info, content)
        before = snapshot(program.parent)
        with pytest.raises(UnsafeArchiveError):
            local_client.update_device_program(archive)
        assert snapshot(program.parent) == before


def test_a_symlink_already_in_the_program_directory_cannot_be_written_through(
    local_client: PepeunitClient, tmp_path: Path
):
    outside = tmp_path / "outside"
    outside.mkdir()
    program = local_client.program_dir
    (program / "data").symlink_to(outside)
    archive = tmp_path / "update.tar"
    archive.write_bytes(tar_bytes(file_member("./data/evil.txt", b"x")))
    with pytest.raises(UnsafeArchiveError):
        local_client.update_device_program(archive)
    assert list(outside.iterdir()) == []


def test_env_json_is_kept_unless_the_archive_brings_a_newer_one(
    local_client: PepeunitClient, tmp_path: Path
):
    program = local_client.program_dir
    env_path = local_client.settings.env_file_path
    local_client.settings.update_from_file(
        _written(tmp_path / "env.json", {"PU_AUTH_TOKEN": TOKEN, "PU_COMMIT_VERSION": "aaa"})
    )
    local_mtime = env_path.stat().st_mtime
    archive = tmp_path / "update.tgz"

    def install(*members: tuple) -> bool:
        archive.write_bytes(zlib_stream(tar_bytes(file_member("./a.py", b"1"), *members), 9))
        return local_client.update_device_program(archive).env_replaced

    def env_member(version: str, mtime: float) -> tuple:
        env = {"PU_AUTH_TOKEN": TOKEN, "PU_COMMIT_VERSION": version, "FROM": f"{version}@{mtime}"}
        return file_member("./env.json", json.dumps(env).encode(), mtime=mtime)

    assert not install()
    assert not install(env_member("aaa", local_mtime - 3600))
    assert local_client.settings.get("FROM") is None
    assert (program / "a.py").read_text() == "1"
    assert install(env_member("aaa", local_mtime + 3600))
    assert f"aaa@{local_mtime + 3600}" == local_client.settings.FROM
    # Another version's env.json comes in even when the device's clock says it is older.
    assert install(env_member("bbb", local_mtime - 7200))
    assert local_client.settings.PU_COMMIT_VERSION == "bbb"


def test_an_archive_with_a_bad_env_json_is_refused(local_client: PepeunitClient, tmp_path: Path):
    archive = tmp_path / "update.tar"
    env = json.dumps({"PU_AUTH_TOKEN": TOKEN, "PU_MQTT_PORT": "1883"}).encode()
    archive.write_bytes(tar_bytes(file_member("./env.json", env), file_member("./a.py", b"1")))
    with pytest.raises(FileContentError, match="PU_MQTT_PORT"):
        local_client.update_device_program(archive)
    assert not (local_client.program_dir / "a.py").exists()


def test_archive_env_and_schema_go_to_the_units_own_files(tmp_path: Path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "unit-env.json").write_text(json.dumps({"PU_AUTH_TOKEN": TOKEN}))
    (config / "unit-schema.json").write_text("{}")
    client = PepeunitClient(
        config / "unit-env.json",
        config / "unit-schema.json",
        config / "log.json",
        program_dir=tmp_path / "program",
    )
    schema = {"output_topic": {"out/pepeunit": ["d/1/pepeunit"]}}
    archive = tmp_path / "update.zip"
    with zipfile.ZipFile(archive, "w") as writer:
        writer.writestr("env.json", json.dumps({"PU_AUTH_TOKEN": TOKEN, "NEW": 1}))
        writer.writestr("schema.json", json.dumps(schema))
        writer.writestr("main.py", "print(1)\n")
    client.update_device_program(archive)
    assert client.settings.NEW == 1
    assert client.schema.output_topic == schema["output_topic"]
    assert (tmp_path / "program" / "main.py").exists()
    assert not (tmp_path / "program" / "env.json").exists()


def test_a_tar_ending_with_a_zip_file_is_a_tar(local_client: PepeunitClient, tmp_path: Path):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as writer:
        writer.writestr("inside-the-zip.txt", "x")
    archive = tmp_path / "update.tar"
    archive.write_bytes(
        tar_bytes(file_member("./main.py", b"1"), file_member("./assets.zip", inner.getvalue()))
    )
    local_client.update_device_program(archive)
    program = local_client.program_dir
    assert (program / "main.py").exists() and (program / "assets.zip").exists()
    assert not (program / "inside-the-zip.txt").exists()


def test_what_is_not_an_archive_is_refused(local_client: PepeunitClient, tmp_path: Path):
    archive = tmp_path / "update.tgz"
    for content in (
        b"not an archive at all",
        zlib_stream(tar_bytes(file_member("./a.py", b"1")), 9)[:-20],
        b"",
    ):
        archive.write_bytes(content)
        with pytest.raises(UnsupportedArchiveError):
            local_client.update_device_program(archive)
    assert not (local_client.program_dir / "a.py").exists()


def _written(path: Path, document: dict) -> Path:
    path.write_text(json.dumps(document))
    return path
