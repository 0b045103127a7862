"""`.pepeignore` (docs/compatibility.md#repository-files): gitignore patterns naming what an
interpretable firmware archive leaves out of the repository tree.

Git's rules: blank lines and `#` comments are skipped, `\\` escapes, `!` re-includes, a trailing
`/` matches directories only, a `/` at the start or in the middle anchors the pattern at the tree
root (otherwise it matches at any depth), `*` `?` `[...]` never match `/`, and `**` as a whole
level spans directories. The last matching pattern decides. Nothing inside an ignored directory
can be re-included (the reference deletes ignored directories whole).
"""

import re
from dataclasses import dataclass

PEPEIGNORE_FILE = ".pepeignore"


class PepeIgnoreError(ValueError):
    """A pattern that cannot be understood; the message names its line."""


@dataclass(frozen=True)
class IgnorePattern:
    text: str
    regex: re.Pattern[str]
    negated: bool
    directories_only: bool

    def matches(self, path: str, *, is_dir: bool) -> bool:
        if self.directories_only and not is_dir:
            return False
        return self.regex.fullmatch(path) is not None


@dataclass(frozen=True)
class PepeIgnore:
    patterns: tuple[IgnorePattern, ...] = ()

    @classmethod
    def parse(cls, text: str) -> "PepeIgnore":
        patterns = []
        for number, line in enumerate(text.splitlines(), start=1):
            pattern = _parse_line(line, number)
            if pattern is not None:
                patterns.append(pattern)
        return cls(tuple(patterns))

    def is_ignored(self, path: str, *, is_dir: bool) -> bool:
        """Whether `path` (relative to the tree root, `/`-separated) stays out of the archive,
        by itself or because a directory above it does."""
        parts = path.split("/")
        for depth in range(1, len(parts)):
            if self._decides_ignored("/".join(parts[:depth]), is_dir=True):
                return True
        return self._decides_ignored(path, is_dir=is_dir)

    def _decides_ignored(self, path: str, *, is_dir: bool) -> bool:
        ignored = False
        for pattern in self.patterns:
            if pattern.matches(path, is_dir=is_dir):
                ignored = not pattern.negated
        return ignored


def _parse_line(line: str, number: int) -> IgnorePattern | None:
    if line.startswith("#"):
        return None
    body = _strip_unescaped_trailing_spaces(line)
    negated = body.startswith("!")
    if negated:
        body = body[1:]
    directories_only = body.endswith("/")
    body = body.rstrip("/")
    anchored = "/" in body
    body = body.lstrip("/")
    if not body:
        return None
    try:
        regex = re.compile(_pattern_regex(body, anchored=anchored))
    except re.error as error:
        raise PepeIgnoreError(
            f"{PEPEIGNORE_FILE} line {number}: cannot use pattern {line!r}: {error}"
        ) from None
    return IgnorePattern(line, regex, negated, directories_only)


def _strip_unescaped_trailing_spaces(line: str) -> str:
    stripped = line.rstrip(" ")
    if stripped.endswith("\\") and len(stripped) < len(line):
        return stripped + " "
    return stripped


def _pattern_regex(body: str, *, anchored: bool) -> str:
    levels = body.split("/")
    regex = "" if anchored else "(?:.*/)?"
    needs_separator = False
    for index, level in enumerate(levels):
        is_last = index == len(levels) - 1
        if level == "**":
            if is_last:
                regex += "/.*" if needs_separator else ".*"
            else:
                regex += "/(?:.*/)?" if needs_separator else "(?:.*/)?"
                needs_separator = False
            continue
        if needs_separator:
            regex += "/"
        regex += _level_regex(level)
        needs_separator = True
    return regex


def _level_regex(level: str) -> str:
    regex = []
    index = 0
    while index < len(level):
        char = level[index]
        if char == "\\" and index + 1 < len(level):
            regex.append(re.escape(level[index + 1]))
            index += 2
        elif char == "*":
            while index < len(level) and level[index] == "*":
                index += 1
            regex.append("[^/]*")
        elif char == "?":
            regex.append("[^/]")
            index += 1
        elif char == "[" and (bracket := _bracket_regex(level, index)) is not None:
            class_regex, index = bracket
            regex.append(class_regex)
        else:
            regex.append(re.escape(char))
            index += 1
    return "".join(regex)


def _bracket_regex(level: str, start: int) -> tuple[str, int] | None:
    """The regex of the `[...]` starting at `start` and the index after it, or None when the
    bracket is not closed (it is then a literal `[`)."""
    index = start + 1
    negated = index < len(level) and level[index] in "!^"
    if negated:
        index += 1
    members = []
    first = True
    while index < len(level) and (first or level[index] != "]"):
        char = level[index]
        if char == "\\" and index + 1 < len(level):
            members.append(re.escape(level[index + 1]))
            index += 2
        else:
            members.append(char if char == "-" else re.escape(char))
            index += 1
        first = False
    if index >= len(level):
        return None
    return ("[^/" if negated else "[") + "".join(members) + "]", index + 1
