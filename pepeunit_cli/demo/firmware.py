"""A unit's firmware as a device gets it: the platform's tgz (a tar compressed as a zlib
stream) downloaded and unpacked into the unit's program directory."""

import io
import tarfile
import zlib
from pathlib import Path

from pepeunit_cli.demo.api_client import ApiClient

# A zlib stream's header tells its window; the largest accepts every window (the platform
# writes a 512-byte one, as the reference does).
_ZLIB_ANY_WINDOW = 15


def download_firmware(api: ApiClient, unit_uuid: str, archive_path: Path) -> Path:
    archive_path.write_bytes(api.download(f"/units/firmware/tgz/{unit_uuid}"))
    return archive_path


def unpack_firmware(archive_path: Path, program_dir: Path) -> None:
    """Unpacks with tarfile's `data` filter, which refuses absolute names, `..`, links that
    lead outside, devices and FIFOs."""
    tar_bytes = zlib.decompress(archive_path.read_bytes(), _ZLIB_ANY_WINDOW)
    program_dir.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as archive:
        archive.extractall(program_dir, filter="data")
