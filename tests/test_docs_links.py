"""The README and docs/ hold together (issue 13): every relative link points to a file of the
repository and, with an #anchor, to a heading of that page; every path in the README's Layout
table exists."""

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.markdown_headings import anchors, lines_outside_fences

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

INLINE_CODE = re.compile(r"(`+).*?\1")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def relative_links(markdown: str) -> list[tuple[int, str]]:
    """(line number, target) of every link that is not a URL, outside code."""
    links = []
    for number, line in lines_outside_fences(markdown):
        for match in LINK.finditer(INLINE_CODE.sub("", line)):
            target = match.group(1)
            if not EXTERNAL.match(target):
                links.append((number, target))
    return links


def link_problem(page: Path, target: str) -> str | None:
    """Why a relative link of `page` leads nowhere, or None when it leads somewhere."""
    path_part, _, anchor = target.partition("#")
    linked = (page.parent / unquote(path_part)).resolve() if path_part else page
    if not linked.exists():
        return f"{path_part} does not exist"
    if ROOT not in linked.parents and linked != ROOT:
        return f"{path_part} is outside the repository"
    if anchor:
        if linked.suffix != ".md" or linked.is_dir():
            return f"#{anchor} on {path_part}, which is not a Markdown page"
        if anchor not in anchors(linked.read_text(encoding="utf-8")):
            return f"{linked.relative_to(ROOT)} has no heading with anchor #{anchor}"
    return None


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_relative_link_leads_to_a_file_and_heading(page: Path) -> None:
    problems = [
        f"{page.relative_to(ROOT)}:{number}: ({target}): {problem}"
        for number, target in relative_links(page.read_text(encoding="utf-8"))
        if (problem := link_problem(page, target)) is not None
    ]
    assert problems == []


def layout_paths(readme: str) -> list[str]:
    """The paths in backticks in the first column of the README's Layout table."""
    section = readme.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    first_cells = [row.split("|")[1] for row in rows[2:]]  # past the header and its rule
    return [path for cell in first_cells for path in re.findall(r"`([^`]+)`", cell)]


def test_every_layout_path_exists() -> None:
    paths = layout_paths((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(paths) > 5
    assert [path for path in paths if not (ROOT / path).exists()] == []


def test_the_docs_index_lists_every_page() -> None:
    index = (ROOT / "docs" / "README.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in (ROOT / "docs").glob("*.md"):
        if page.name != "README.md":
            assert f"]({page.name})" in index, f"docs/README.md does not list {page.name}"
            assert f"](docs/{page.name})" in readme, f"README.md does not link {page.name}"


def test_a_broken_link_is_reported() -> None:
    page = ROOT / "docs" / "README.md"
    assert link_problem(page, "nowhere.md") is not None
    assert link_problem(page, "pipelines.md#no-such-heading") is not None
    assert link_problem(page, "../README.md#quick-start") is None
    assert link_problem(page, "#pepeunit-documentation") is None
    assert relative_links("[a](https://t.me/x) `[b](c.md)` [d](e.md#f)\n```\n[g](h.md)\n```") == [
        (1, "e.md#f")
    ]
