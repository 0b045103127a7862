"""The anchors GitHub gives Markdown headings, for the tests that check links and citations."""

import re

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: links reduced to their text, lowercase, every
    character but letters, digits, spaces, hyphens and underscores dropped, spaces → hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def lines_outside_fences(markdown: str) -> list[tuple[int, str]]:
    """(line number, line) of every line that is not inside fenced code."""
    kept: list[tuple[int, str]] = []
    in_fence = False
    for number, line in enumerate(markdown.splitlines(), start=1):
        if FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence:
            kept.append((number, line))
    return kept


def anchors(markdown: str) -> set[str]:
    """The anchors of a Markdown page's headings (outside fenced code), with GitHub's `-1`,
    `-2`… suffixes for repeated headings."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for _, line in lines_outside_fences(markdown):
        heading = HEADING.match(line)
        if heading is None:
            continue
        slug = github_slug(heading.group(1))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found
