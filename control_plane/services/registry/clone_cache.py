"""Per-process caches of what the API reads from local clones on every device request: a
branch's history (env, schema and firmware requests resolve the unit's version from it) and
files at a commit.

Only `fetch` changes a clone, and it replaces the clone's fetch marker once every ref is in
place, so a history is reused while the clone directory and its marker are the same files
(two `stat` calls); a fetch by another worker is seen at the next read. Files are cached by
full commit hash, which pins their content.
"""

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Generic, TypeVar

FETCH_MARKER = "pepeunit-fetched"
"""Inside the clone's git directory; rewritten (new inode) after each completed fetch."""
MAX_HISTORIES = 128
MAX_FILES = 1024
MAX_CACHED_FILE_BYTES = 256 * 1024
_FULL_HASH_LENGTHS = (40, 64)

CloneState = tuple[int, int, int | None, int | None]
_Key = TypeVar("_Key", bound=Hashable)
_Value = TypeVar("_Value")
_Item = TypeVar("_Item")


def mark_fetched(path: Path) -> None:
    """Tells every process's cache that the clone at `path` has changed."""
    temporary = path / f"{FETCH_MARKER}.tmp"
    temporary.write_text(str(os.getpid()))
    os.replace(temporary, path / FETCH_MARKER)


def clone_state(path: Path) -> CloneState | None:
    """Identity of the clone's current contents; None if there is no clone at `path`."""
    try:
        directory = path.stat()
    except OSError:
        return None
    try:
        marker = (path / FETCH_MARKER).stat()
    except OSError:
        return (directory.st_dev, directory.st_ino, None, None)
    return (directory.st_dev, directory.st_ino, marker.st_ino, marker.st_mtime_ns)


class _Lru(Generic[_Key, _Value]):
    """A bounded map that forgets the least recently used entry first; thread-safe."""

    def __init__(self, max_entries: int) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[_Key, _Value] = OrderedDict()
        self._max_entries = max_entries

    def get(self, key: _Key) -> _Value | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: _Key, value: _Value) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)


class CloneReadCache(Generic[_Item]):
    def __init__(self, max_histories: int = MAX_HISTORIES, max_files: int = MAX_FILES) -> None:
        self._histories: _Lru[tuple[str, str], tuple[CloneState, tuple[_Item, ...]]] = _Lru(
            max_histories
        )
        self._files: _Lru[tuple[CloneState, str, str], tuple[bytes | None]] = _Lru(max_files)

    def history(
        self, path: Path, branch: str, load: Callable[[], tuple[_Item, ...]]
    ) -> tuple[_Item, ...]:
        """`branch`'s history as `load` reads it, from the cache while the clone is unchanged."""
        state = clone_state(path)
        if state is None:
            return load()
        key = (str(path), branch)
        cached = self._histories.get(key)
        if cached is not None and cached[0] == state:
            return cached[1]
        history = load()
        self._histories.put(key, (state, history))
        return history

    def file(
        self, path: Path, commit: str, name: str, load: Callable[[], bytes | None]
    ) -> bytes | None:
        """The file `name` at `commit` as `load` reads it (None: no such file); small files at
        a full commit hash come from the cache."""
        state = clone_state(path)
        if state is None or len(commit) not in _FULL_HASH_LENGTHS:
            return load()
        key = (state, commit, name)
        cached = self._files.get(key)
        if cached is not None:
            return cached[0]
        content = load()
        if content is None or len(content) <= MAX_CACHED_FILE_BYTES:
            self._files.put(key, (content,))
        return content
