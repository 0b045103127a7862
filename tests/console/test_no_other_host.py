"""Nothing the console serves refers to another host: a crawler signs in, follows every link,
script, stylesheet, form and htmx or SSE address from the pages, fetches each page and asset,
and finds no URL but the page's own origin. Vendored libraries may only mention (in their
license comments) the URLs their manifest lists."""

import json
import re
from collections import deque
from urllib.parse import urljoin, urlsplit

from fastapi import FastAPI

from control_plane.console.templating import STATIC_DIRECTORY
from pepeunit_core.db.enums import UnitNodeType
from pepeunit_core.db.models import User
from tests.console.console_client import PREFIX, ConsoleClient, register
from tests.pepeunit_core.builders import add_node, add_registry, add_repo, add_unit

ORIGIN = "http://testserver"
REFERENCE_ATTRIBUTES = re.compile(r'\b(?:href|src|hx-get|sse-connect|data-[a-z-]*url)="([^"]*)"')
# Addresses that are checked but not fetched: forms that post, and htmx's unsafe requests.
UNSAFE_REFERENCES = re.compile(r'\b(?:action|hx-(?:post|put|patch|delete))="([^"]*)"')
# Event streams: their addresses are checked, they are not fetched.
STREAMS = re.compile(r'\bsse-connect="([^"]*)"')
GET_FORM = re.compile(r'<form\b[^>]*\bmethod="get"[^>]*\baction="([^"]*)"', re.IGNORECASE)
CSS_REFERENCES = re.compile(r"""url\(\s*['"]?([^'")]+)|@import\s+['"]([^'"]+)""")
ANY_URL = re.compile(r"""https?://[^\s"'()<>`]+""", re.IGNORECASE)
# An XML namespace names a vocabulary; nothing is fetched from it.
NAMESPACE = re.compile(r'xmlns(?::\w+)?="http://www\.w3\.org/[^"]*"')
VENDOR_MENTIONS = {
    entry["file"]: set(entry["mentions"])
    for entry in json.loads((STATIC_DIRECTORY / "vendor" / "ASSETS.json").read_text())["files"]
}
MAX_FETCHES = 1000


def absolute_urls(text: str) -> set[str]:
    """Every http(s) URL in `text` (scheme-relative references are found as references)."""
    return set(ANY_URL.findall(NAMESPACE.sub("", text)))


def foreign(url: str) -> bool:
    if url.startswith("data:"):
        return False  # inline content
    try:
        parts = urlsplit(urljoin(f"{ORIGIN}/", url))
    except ValueError:  # not a URL a browser would load either; reported to be looked at
        return True
    return f"{parts.scheme}://{parts.netloc}" != ORIGIN


def seed_units(app: FastAPI, admin) -> None:
    with app.state.context.session_factory() as session:
        user = session.get_one(User, admin)
        repo = add_repo(session, user, add_registry(session, user))
        for number in range(60):  # more than a page: the pager's links are followed too
            unit = add_unit(session, user, repo, f"crawl-{number:02}")
            node = add_node(session, unit, UnitNodeType.OUTPUT, "temperature/pepeunit")
            node.state = "https://elsewhere.example/a-value-is-data-not-a-reference"
        session.commit()


def crawl(console: ConsoleClient, start: list[str]) -> tuple[dict[str, str], list[str]]:
    """Fetched path -> content type, and the problems found."""
    queue, seen = deque(start), set(start)
    fetched: dict[str, str] = {}
    problems: list[str] = []
    while queue and len(fetched) < MAX_FETCHES:
        path = queue.popleft()
        answer = console.get(path)
        if answer.status_code in (301, 302, 303, 307, 308):
            location = answer.headers["location"]
            references = [location]
        else:
            assert answer.status_code == 200, (path, answer.status_code)
            references = []
        streams: set[str] = set()
        kind = answer.headers.get("content-type", "").split(";")[0]
        fetched[path] = kind
        textual = kind.startswith(("text/", "application/javascript", "image/svg"))
        text = answer.text if textual else ""
        if kind == "text/html":
            references += REFERENCE_ATTRIBUTES.findall(text) + GET_FORM.findall(text)
            streams = {stream.replace("&amp;", "&") for stream in STREAMS.findall(text)}
            problems += [
                f"{path} sends to {url}" for url in UNSAFE_REFERENCES.findall(text) if foreign(url)
            ]
            # Data shown as text is not a reference of the page: values a unit published
            # (<output>), addresses users gave such as registry URLs (<samp>), and examples
            # in a field's placeholder.
            text = re.sub(r"<(output|samp)\b[^>]*>.*?</\1>", "", text, flags=re.DOTALL)
            text = re.sub(r'\bplaceholder="[^"]*"', "", text)
        elif kind == "text/css":
            references += [a or b for a, b in CSS_REFERENCES.findall(text)]
        vendored = urlsplit(path).path.removeprefix(f"{PREFIX}/static/vendor/")
        allowed = VENDOR_MENTIONS.get(vendored, set()) if vendored != urlsplit(path).path else set()
        if path.startswith(f"{PREFIX}/docs-assets/"):
            # Swagger UI's and ReDoc's builds (fastapi-offline) name many sites in their text;
            # what they load is what the checks of references above see.
            text = ""
        for url in absolute_urls(text):
            if foreign(url) and url not in allowed:
                problems.append(f"{path} mentions {url}")
        for reference in references:
            reference = reference.replace("&amp;", "&")
            if reference.startswith("data:"):
                continue
            if foreign(reference):
                problems.append(f"{path} refers to {reference}")
                continue
            if reference in streams:
                continue
            target = urljoin(f"{ORIGIN}{path}", reference).removeprefix(ORIGIN)
            if target not in seen:
                seen.add(target)
                queue.append(target)
    assert len(fetched) < MAX_FETCHES, "the crawl did not end"
    return fetched, problems


def test_nothing_refers_to_another_host(console: ConsoleClient, app: FastAPI):
    # Anonymous: the first run, then the sign-in page.
    fetched, problems = crawl(console, [f"{PREFIX}/", f"{PREFIX}/first-run"])
    assert problems == []
    admin = register(console, "admin")
    seed_units(app, admin)
    fetched, problems = crawl(console, [f"{PREFIX}/sign-in"])
    assert problems == []
    console.sign_in("admin")
    fetched, problems = crawl(console, [f"{PREFIX}/"])
    assert problems == [], problems
    paths = {urlsplit(path).path for path in fetched}
    for page in ("/units", "/graph", "/repos", "/registry", "/alerts", "/docs"):
        assert f"{PREFIX}{page}" in paths, page
    assert f"{PREFIX}/units?q=&page=2" in fetched
    assets = {path for path in paths if path.startswith(f"{PREFIX}/static/")}
    assert {f"{PREFIX}/static/vendor/htmx.min.js", f"{PREFIX}/static/console.css"} <= assets
    assert any(path.startswith(f"{PREFIX}/docs-assets/") for path in paths)


def test_the_crawler_sees_a_foreign_reference():
    assert foreign("https://cdn.example/htmx.js") and foreign("//cdn.example/x.css")
    assert not foreign("/pepeunit/static/x.css") and not foreign(f"{ORIGIN}/pepeunit/")
    assert absolute_urls('<a href="https://cdn.example/x">') == {"https://cdn.example/x"}
    assert absolute_urls('<svg xmlns="http://www.w3.org/2000/svg">') == set()


def test_static_files_are_cached_by_version(console: ConsoleClient):
    page = console.get(f"{PREFIX}/first-run").text
    css = re.search(r'href="([^"]*console\.css\?v=[0-9a-f]+)"', page)
    assert css
    versioned = console.get(css.group(1))
    assert versioned.status_code == 200
    assert versioned.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert versioned.headers["content-type"].startswith("text/css")
    for stale in (f"{PREFIX}/static/console.css", f"{PREFIX}/static/console.css?v=0"):
        answer = console.get(stale)
        assert answer.headers["cache-control"] == "no-cache" and answer.headers.get("etag")
    etag = versioned.headers["etag"]
    assert console.get(css.group(1), headers={"if-none-match": etag}).status_code == 304
    assert console.get(f"{PREFIX}/static/nothing.js").status_code == 404
    assert console.get(f"{PREFIX}/static/../templating.py").status_code == 404
