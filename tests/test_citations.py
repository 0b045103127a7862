"""Every document the repository cites is in the repository (issue 13): no tracked text file
cites a document that lives elsewhere, and every `docs/<page>.md#<anchor>` names a page of
`docs/` and a heading on it."""

import re
import subprocess
from pathlib import Path

import pytest

from tests.markdown_headings import anchors, github_slug

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
THIS_FILE = Path(__file__).resolve().relative_to(ROOT).as_posix()

# Citations of documents that are not in the repository.
OUTSIDE_CITATIONS = {
    "reference §": re.compile(r"reference\s+§", re.IGNORECASE),
    "contract decision": re.compile(r"contract\s+decisions?\b", re.IGNORECASE),
    "pipelines.md §": re.compile(r"pipelines\.md`?\s*§"),
    "a section number (§N)": re.compile(r"§\s*\d"),
    "../shared/": re.compile(r"\.\./shared/"),
    "DESIGN.md": re.compile(r"\bDESIGN\.md\b"),
    "STYLE.md": re.compile(r"\bSTYLE\.md\b"),
}
# A `docs/` path after anything but a space or an opening bracket or backtick, without an anchor,
# is a file name (test data such as "docs/guide.md"), not a citation.
DOCS_CITATION = re.compile(r"(^|[^\w/.-])docs/([A-Za-z0-9_.-]+\.md)(?:#([A-Za-z0-9_-]*))?")
CITATION_OPENERS = ("", " ", "\t", "(", "[", "`")
# Inside docs/, pages link to each other relatively: `[text](page.md#anchor)` or `(#anchor)`.
RELATIVE_LINK = re.compile(r"\]\(([A-Za-z0-9_-]+\.md)?#([A-Za-z0-9_-]*)\)")


def docs_anchors() -> dict[str, set[str]]:
    return {page.name: anchors(page.read_text(encoding="utf-8")) for page in DOCS.glob("*.md")}


def citation_problems(
    text: str, pages: dict[str, set[str]], *, page_dir_relative: bool = False
) -> list[str]:
    """What is wrong with the citations in one file's text, one message per problem."""
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        for name, pattern in OUTSIDE_CITATIONS.items():
            if pattern.search(line):
                problems.append(f"{number}: cites a document outside the repository ({name})")
        links = [
            (m.group(2), m.group(3))
            for m in DOCS_CITATION.finditer(line)
            if m.group(3) is not None or m.group(1) in CITATION_OPENERS
        ]
        if page_dir_relative:
            links += [(m.group(1), m.group(2)) for m in RELATIVE_LINK.finditer(line)]
        for page, anchor in links:
            if page not in pages:
                problems.append(f"{number}: docs/{page} does not exist")
            elif anchor is not None and anchor not in pages[page]:
                problems.append(f"{number}: docs/{page} has no heading with anchor #{anchor}")
    return problems


def tracked_text_files() -> list[str]:
    git = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=False)
    if git.returncode != 0:
        pytest.skip(f"not a git checkout, so no list of tracked files: {git.stderr.decode()}")
    listed = git.stdout.decode()
    paths = []
    for path in filter(None, listed.split("\0")):
        data = (ROOT / path).read_bytes() if (ROOT / path).is_file() else b"\0"
        if b"\0" in data:
            continue
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        paths.append(path)
    return paths


def test_no_tracked_file_cites_a_document_outside_the_repository() -> None:
    pages = docs_anchors()
    problems = []
    for path in tracked_text_files():
        if path == THIS_FILE:
            continue
        in_docs = path.startswith("docs/") and path.endswith(".md")
        text = (ROOT / path).read_text(encoding="utf-8")
        if in_docs:
            # A relative link without a page points into the page itself.
            own = Path(path).name
            text = re.sub(r"\]\(#", f"]({own}#", text)
        problems += [
            f"{path}:{problem}"
            for problem in citation_problems(text, pages, page_dir_relative=in_docs)
        ]
    assert problems == []


def test_the_docs_are_tracked_and_have_headings() -> None:
    pages = docs_anchors()
    assert {"compatibility.md", "pipelines.md", "delivery.md", "operations.md"} <= set(pages)
    assert "least-privilege-broker-access" in pages["compatibility.md"]
    assert "permission-api-creator-only" in pages["compatibility.md"]


@pytest.mark.parametrize(
    ("heading", "slug"),
    [
        ("Permission API: creator only", "permission-api-creator-only"),
        ("Broker outage and back-pressure", "broker-outage-and-back-pressure"),
        ("`alerts:` and the [engine](x.md)", "alerts-and-the-engine"),
        ("State: four different things", "state-four-different-things"),
        ("snake_case names", "snake_case-names"),
    ],
)
def test_github_slug(heading: str, slug: str) -> None:
    assert github_slug(heading) == slug


def test_anchors_skip_code_and_number_repeats() -> None:
    page = "# Title\n\n```yaml\n# not a heading\n```\n## Notes\n### Notes\n"
    assert anchors(page) == {"title", "notes", "notes-1"}


@pytest.mark.parametrize(
    "line",
    [
        "Visibility (reference §8.1): Public to everyone",
        "Routing (contract decision 1) happens here",
        "See `pipelines.md` §3 for the fixes",
        "as measured (DESIGN.md)",
        "per ../shared/spec/contract.md",
        "(docs/compatibility.md#no-such-heading)",
        "(docs/nowhere.md#routing)",
        "(docs/nowhere.md)",
        '"docs/compatibility.md#gone"',
    ],
)
def test_a_bad_citation_is_reported(line: str) -> None:
    pages = {"compatibility.md": {"access-model"}}
    assert citation_problems(f"x\n{line}\n", pages) != []


def test_a_relative_link_inside_docs_is_checked() -> None:
    pages = {"compatibility.md": {"access-model"}}
    assert (
        citation_problems("[a](compatibility.md#access-model)", pages, page_dir_relative=True) == []
    )
    assert citation_problems("[a](compatibility.md#gone)", pages, page_dir_relative=True) != []


@pytest.mark.parametrize(
    "line",
    [
        "(docs/compatibility.md#access-model)",
        "see docs/compatibility.md for the rest",
        'symlink_to("../shared", target_is_directory=True)',
        '"docs/guide.md": "how to wire it",',
        '"/build\\ndocs/**\\n!docs/index.md\\n",',
        "the reference platform compares raw payloads",
    ],
)
def test_a_good_citation_passes(line: str) -> None:
    pages = {"compatibility.md": {"access-model"}}
    assert citation_problems(line, pages) == []
