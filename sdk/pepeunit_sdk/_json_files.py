"""Reading JSON objects from files and replacing files atomically."""

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ._errors import FileContentError

__all__ = ["read_json_object", "replace_file", "write_json_object"]


def read_json_object(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_bytes())
    except ValueError as error:
        raise FileContentError(path, f"not JSON: {error}") from None
    if not isinstance(value, dict):
        raise FileContentError(path, f"expected a JSON object, found {type(value).__name__}")
    return value


def write_json_object(path: Path, value: dict[str, Any]) -> None:
    replace_file(path, (json.dumps(value, indent=4, ensure_ascii=False) + "\n").encode())


def replace_file(path: Path, content: bytes) -> None:
    """Write `content` to `path` so that readers see the old or the new file, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
