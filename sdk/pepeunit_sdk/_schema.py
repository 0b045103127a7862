"""schema.json: for each of its four sections, template names mapped to their MQTT topics."""

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._errors import FileContentError
from ._json_files import read_json_object, write_json_object

__all__ = ["SCHEMA_SECTIONS", "Schema", "checked_schema"]

SCHEMA_SECTIONS = ("input_base_topic", "output_base_topic", "input_topic", "output_topic")

Topics = dict[str, list[str]]


class Schema:
    """The unit's schema.json. A section the file leaves out is empty.

    Each property returns a fresh copy, so callers cannot change the loaded schema by accident.
    """

    def __init__(self, schema_file_path: str | Path) -> None:
        self._path = Path(schema_file_path)
        self._listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._sections = checked_schema(read_json_object(self._path), self._path)

    @property
    def schema_file_path(self) -> Path:
        return self._path

    @property
    def input_base_topic(self) -> Topics:
        return self._section("input_base_topic")

    @property
    def output_base_topic(self) -> Topics:
        return self._section("output_base_topic")

    @property
    def input_topic(self) -> Topics:
        return self._section("input_topic")

    @property
    def output_topic(self) -> Topics:
        return self._section("output_topic")

    def as_dict(self) -> dict[str, Topics]:
        return {name: self._section(name) for name in SCHEMA_SECTIONS}

    def update_from_file(self, path: str | Path | None = None) -> None:
        """Re-read schema.json; with `path`, that file (checked first) becomes schema.json.

        An invalid file raises FileContentError and changes nothing.
        """
        source = self._path if path is None else Path(path)
        document = read_json_object(source)
        sections = checked_schema(document, source)
        with self._lock:
            if source != self._path:
                write_json_object(self._path, document)
            self._sections = sections
        for listener in list(self._listeners):
            listener()

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call `listener()` after every reload."""
        self._listeners.append(listener)

    def _section(self, name: str) -> Topics:
        return {key: list(topics) for key, topics in self._sections[name].items()}


def checked_schema(document: dict[str, Any], path: Path) -> dict[str, Topics]:
    sections: dict[str, Topics] = {}
    for name in SCHEMA_SECTIONS:
        section = document.get(name, {})
        if not isinstance(section, dict):
            raise FileContentError(path, f"{name} must be an object of topic lists")
        for key, topics in section.items():
            if not (isinstance(topics, list) and all(isinstance(t, str) for t in topics)):
                raise FileContentError(path, f"{name}[{key!r}] must be a list of topic strings")
        sections[name] = {key: list(topics) for key, topics in section.items()}
    return sections
