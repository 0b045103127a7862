"""The backup archive as a tar file, written and read member by member, never whole in memory.

Members are staged one at a time in a scratch directory beside the output (tar needs each
member's size before its data), hashed as they go into the archive, and deleted; the manifest
with every member's checksum comes last. The archive is written under a temporary name and
renamed into place when complete, so a failed backup leaves no archive that looks whole.
"""

import hashlib
import os
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol, TypeVar

from pepeunit_core.backup.manifest import (
    MANIFEST_MEMBER,
    BackupArchiveError,
    Manifest,
    Member,
)


class ListedMembers(Protocol):
    """A manifest: what `ArchiveWriter.finish` writes and `verify_archive` reads back."""

    members: list[Member]

    def to_bytes(self) -> bytes: ...


ManifestT = TypeVar("ManifestT", bound=ListedMembers)

READ_CHUNK_BYTES = 1 << 20
END_MARKER_BYTES = 2 * tarfile.BLOCKSIZE
ARCHIVE_MODE = 0o600
"""The archive holds the instance's keys: only its owner may read it."""


class _HashingReader:
    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size)
        self.digest.update(data)
        return data


class ArchiveWriter:
    def __init__(self, output: Path) -> None:
        self._output = output
        self._partial = output.with_name(f".{output.name}.partial-{os.getpid()}")
        descriptor = os.open(self._partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, ARCHIVE_MODE)
        self._file = os.fdopen(descriptor, "wb")
        self._tar = tarfile.open(  # noqa: SIM115 - closed by finish() or close()
            fileobj=self._file, mode="w", format=tarfile.PAX_FORMAT
        )
        self._scratch = Path(tempfile.mkdtemp(prefix=".pepeunit-backup-", dir=output.parent))
        self.members: list[Member] = []

    @property
    def scratch(self) -> Path:
        """A private directory for intermediate files, removed with the writer."""
        return self._scratch

    @contextmanager
    def member(self, name: str) -> Iterator[BinaryIO]:
        """A file to write the member `name` into; it joins the archive when the block ends."""
        staged = self._scratch / "member"
        with staged.open("wb") as file:
            yield file
        self.add_file(name, staged)
        staged.unlink()

    def add_file(self, name: str, path: Path) -> Member:
        info = tarfile.TarInfo(name)
        info.size = path.stat().st_size
        info.mode = ARCHIVE_MODE
        with path.open("rb") as file:
            reader = _HashingReader(file)
            self._tar.addfile(info, reader)  # type: ignore[arg-type]
        member = Member(name, info.size, reader.digest.hexdigest())
        self.members.append(member)
        return member

    def finish(self, manifest: ListedMembers) -> None:
        manifest.members = list(self.members)
        data = manifest.to_bytes()
        info = tarfile.TarInfo(MANIFEST_MEMBER)
        info.size = len(data)
        info.mode = ARCHIVE_MODE
        staged = self._scratch / MANIFEST_MEMBER
        staged.write_bytes(data)
        with staged.open("rb") as file:
            self._tar.addfile(info, file)
        self._tar.close()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self._partial, self._output)
        self.close()

    def close(self) -> None:
        """Removes the scratch directory and, unless finished, the partial archive."""
        if not self._file.closed:
            self._tar.close()
            self._file.close()
        self._partial.unlink(missing_ok=True)
        for leftover in self._scratch.iterdir():
            leftover.unlink()
        self._scratch.rmdir()


def _checked_name(info: tarfile.TarInfo) -> str:
    path = PurePosixPath(info.name)
    if not info.isfile() or path.is_absolute() or ".." in path.parts:
        raise BackupArchiveError(f"member {info.name!r} is not a plain file of a backup archive")
    return info.name


@contextmanager
def _open_archive(path: Path, shown: str | None = None) -> Iterator[tarfile.TarFile]:
    try:
        with tarfile.open(path, mode="r|") as tar:
            yield tar
    except (tarfile.ReadError, EOFError, tarfile.HeaderError) as error:
        raise BackupArchiveError(f"{shown or path} is truncated or damaged: {error}") from None


def verify_archive(
    path: Path,
    keep: Callable[[str], bool] = lambda _name: False,
    *,
    parse: Callable[[bytes], ManifestT] = Manifest.from_bytes,  # type: ignore[assignment]
    shown: str | None = None,
) -> tuple[ManifestT, dict[str, bytes]]:
    """Reads the whole archive and checks every member against the manifest, and the manifest
    against itself; returns the manifest and the content of the members `keep` asks for (small
    ones). Raises BackupArchiveError naming the first member that does not match. `parse` reads
    the manifest (a backup's by default); `shown` names the archive in messages (its path by
    default)."""
    shown = shown or str(path)
    seen: dict[str, Member] = {}
    kept: dict[str, bytes] = {}
    manifest_data: bytes | None = None
    last = "the start"
    with _open_archive(path, shown) as tar:
        for info in tar:
            name = _checked_name(info)
            if name in seen or (name == MANIFEST_MEMBER and manifest_data is not None):
                raise BackupArchiveError(f"member {name!r} appears twice")
            source = tar.extractfile(info)
            assert source is not None
            digest = hashlib.sha256()
            content = bytearray()
            size = 0
            try:
                while chunk := source.read(READ_CHUNK_BYTES):
                    digest.update(chunk)
                    size += len(chunk)
                    if name == MANIFEST_MEMBER or keep(name):
                        content += chunk
            except (tarfile.ReadError, EOFError) as error:
                raise BackupArchiveError(f"member {name!r} is cut short: {error}") from None
            if name == MANIFEST_MEMBER:
                manifest_data = bytes(content)
            else:
                seen[name] = Member(name, size, digest.hexdigest())
                if keep(name):
                    kept[name] = bytes(content)
            last = f"member {name!r}"
        end = tar.offset
    if manifest_data is None:
        raise BackupArchiveError(
            f"{shown} has no {MANIFEST_MEMBER}: the archive is truncated or damaged after {last}"
        )
    _check_end_marker(path, end, last, shown)
    manifest = parse(manifest_data)
    listed = {member.name: member for member in manifest.members}
    for name, member in listed.items():
        found = seen.get(name)
        if found is None:
            raise BackupArchiveError(f"member {name!r} is missing: the archive is damaged")
        if found != member:
            raise BackupArchiveError(
                f"member {name!r} was changed or damaged: its checksum does not match the manifest"
            )
    unlisted = sorted(set(seen) - set(listed))
    if unlisted:
        raise BackupArchiveError(f"member {unlisted[0]!r} is not in the manifest")
    return manifest, kept


def _check_end_marker(path: Path, end: int, last: str, shown: str) -> None:
    """The archive ends with two zero blocks, padded with zeros to a whole tar record, as the
    writer made it: anything shorter was cut short (even if every member is whole), anything
    longer was added to."""
    records = -(-(end + END_MARKER_BYTES) // tarfile.RECORDSIZE)
    tail_bytes = records * tarfile.RECORDSIZE - end
    with path.open("rb") as file:
        file.seek(end)
        tail = file.read(tail_bytes + 1)
    if tail != bytes(tail_bytes):
        raise BackupArchiveError(f"{shown} is truncated or damaged after {last}")


def read_members(path: Path, manifest: ListedMembers) -> Iterator[tuple[str, BinaryIO]]:
    """The archive's members in order, each with a reader that checks, at its end, that the
    member is still what the manifest says (the file may have changed since it was verified)."""
    listed = {member.name: member for member in manifest.members}
    with _open_archive(path) as tar:
        for info in tar:
            name = _checked_name(info)
            if name == MANIFEST_MEMBER:
                continue
            source = tar.extractfile(info)
            assert source is not None
            reader = _VerifyingReader(source, listed[name])
            yield name, reader  # type: ignore[misc]
            reader.finish()


class _VerifyingReader(_HashingReader):
    def __init__(self, file: BinaryIO, member: Member) -> None:
        super().__init__(file)
        self._member = member

    def readline(self) -> bytes:
        line = self._file.readline()
        self.digest.update(line)
        return line

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def finish(self) -> None:
        while self.read(READ_CHUNK_BYTES):
            pass
        if self.digest.hexdigest() != self._member.sha256:
            raise BackupArchiveError(
                f"member {self._member.name!r} changed while it was being restored"
            )
