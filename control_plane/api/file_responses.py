"""Routes that answer a file rather than JSON: their OpenAPI declarations, and a file built
before it is sent."""

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from starlette.responses import StreamingResponse

CHUNK_BYTES = 256 * 1024

BINARY = {"schema": {"type": "string", "format": "binary"}}


def file_response(
    description: str, *media_types: str, binary: bool = True
) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route answering a file of one of `media_types` with 200 (use with
    `response_class=Response`, so the document does not claim JSON). A text document (YAML)
    is declared without a schema: validators parse YAML into objects."""
    return {
        200: {
            "description": description,
            "content": {media_type: BINARY if binary else {} for media_type in media_types},
        }
    }


def built_file_response(
    build: Callable[[BinaryIO], None], media_type: str, filename: str
) -> StreamingResponse:
    """The file `build` writes, built in a temporary file first and then sent in chunks with
    its length (devices cannot read chunked bodies); the file is closed once sent."""
    built = tempfile.TemporaryFile()  # noqa: SIM115 - the response closes it once sent
    try:
        build(built)
        size = built.tell()
        built.seek(0)
    except BaseException:
        built.close()
        raise
    return StreamingResponse(
        _chunks_then_close(built),
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Content-Length": str(size),
        },
    )


def _chunks_then_close(file: BinaryIO) -> Iterator[bytes]:
    with file:
        while chunk := file.read(CHUNK_BYTES):
            yield chunk


def built_path_response(
    build: Callable[[Path], None], media_type: str, filename: str
) -> StreamingResponse:
    """As `built_file_response`, for a builder that writes a named file (an archive built
    beside its path and renamed into place): the file is built in a private directory, which
    is gone before the first byte is sent (the open file stays readable)."""
    directory = Path(tempfile.mkdtemp(prefix="pepeunit-download-"))
    path = directory / filename
    try:
        build(path)
        built = path.open("rb")
    finally:
        path.unlink(missing_ok=True)
        shutil.rmtree(directory, ignore_errors=True)
    size = built.seek(0, os.SEEK_END)
    built.seek(0)
    return StreamingResponse(
        _chunks_then_close(built),
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Content-Length": str(size),
        },
    )
