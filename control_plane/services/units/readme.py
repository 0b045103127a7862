"""A unit repository's README from its `pepeunit.toml` (1.x's `convert_toml_to_md`): every
section optional, each rendered as a Markdown section in a fixed order."""

import html
import tomllib
from collections.abc import Iterable
from typing import Annotated, BinaryIO

from pydantic import BaseModel, Field, ValidationError

from control_plane.services.errors import InputValidationError

MAX_TOML_CHARS = 10_000
MAX_LIST_ITEMS = 30

Short = Annotated[str, Field(max_length=50)]


class Link(BaseModel):
    name: str
    link: str


class Author(BaseModel):
    name: str
    email: str | None = None


Items = Annotated[list[str | Link], Field(max_length=MAX_LIST_ITEMS)]


class General(BaseModel):
    name: Short | None = None
    description: Annotated[str, Field(max_length=400)] | None = None
    language: Short | None = None
    hardware: Items = Field(default_factory=list)
    firmware: Items = Field(default_factory=list)
    stack: Items = Field(default_factory=list)
    version: Annotated[str, Field(max_length=30)] | None = None
    license: Short | None = None
    authors: Annotated[list[Author], Field(max_length=MAX_LIST_ITEMS)] = Field(default_factory=list)


class Video(BaseModel):
    preview: str
    link: str


class VideoSection(BaseModel):
    video: Video | None = None


class Model(BaseModel):
    version: str
    description: str = ""
    link: str = ""


class ModelsSection(BaseModel):
    models: list[Model] = Field(default_factory=list)


class Steps(BaseModel):
    steps: list[str] = Field(default_factory=list)


class PepeunitToml(BaseModel):
    general: General = Field(default_factory=General)
    video: VideoSection = Field(default_factory=VideoSection)
    images: dict[str, str | list[str]] = Field(default_factory=dict)
    models: ModelsSection = Field(default_factory=ModelsSection)
    files: dict[str, str] = Field(default_factory=dict)
    physical_io: dict[str, str] = Field(default_factory=dict)
    env_description: dict[str, str] = Field(default_factory=dict)
    topic_assignment: dict[str, str] = Field(default_factory=dict)
    work_algorithm: Steps = Field(default_factory=Steps)
    installation: Steps = Field(default_factory=Steps)


MAX_TOML_BYTES = MAX_TOML_CHARS * 4
"""The most UTF-8 bytes MAX_TOML_CHARS characters take: read this many plus one."""


def readme_of_upload(upload: BinaryIO) -> str:
    """`readme_of_toml` of an uploaded file, reading no more than it may hold."""
    return readme_of_toml(upload.read(MAX_TOML_BYTES + 1))


def readme_of_toml(content: bytes) -> str:
    """The Markdown README of an uploaded `pepeunit.toml`; a bad file is refused (422)."""
    if len(content) > MAX_TOML_BYTES:
        raise InputValidationError(f"pepeunit.toml is longer than {MAX_TOML_CHARS} characters")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise InputValidationError("pepeunit.toml is not UTF-8 text") from None
    if len(text) > MAX_TOML_CHARS:
        raise InputValidationError(f"pepeunit.toml is longer than {MAX_TOML_CHARS} characters")
    try:
        document = PepeunitToml.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as error:
        raise InputValidationError(f"pepeunit.toml is not valid TOML: {error}") from None
    except RecursionError:
        raise InputValidationError("pepeunit.toml is nested too deeply") from None
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
            for item in error.errors()
        )
        raise InputValidationError(f"pepeunit.toml: {problems}") from None
    return "\n".join(_sections(document)).strip() + "\n"


def _sections(document: PepeunitToml) -> Iterable[str]:
    general = document.general
    if general.name:
        yield f"# {_cell(general.name)}\n"
    parameters = [
        ("Description", general.description or ""),
        ("Language", general.language or ""),
        ("Hardware", _joined(general.hardware)),
        ("Firmware", _joined(general.firmware)),
        ("Stack", _joined(general.stack)),
        ("Version", general.version or ""),
        ("License", general.license or ""),
        ("Authors", ", ".join(_author(author) for author in general.authors)),
    ]
    yield from _table(("Parameter", "Implementation"), [row for row in parameters if row[1]])
    if document.video.video is not None:
        video = document.video.video
        yield f"## Video\n\n[![Video]({video.preview})]({video.link})\n"
    for title, urls in document.images.items():
        images = "".join(
            f'<img src="{html.escape(url, quote=True)}" width="400"/>' for url in _as_list(urls)
        )
        yield f'## {title[:1].upper()}{title[1:]}\n\n<p align="center">{images}</p>\n'
    models = [(model.version, model.description, model.link) for model in document.models.models]
    yield from _table(("Version", "Description", "Link"), models, "Models")
    if document.files:
        lines = (
            f"{number}. [{name}]({url})"
            for number, (name, url) in enumerate(document.files.items(), start=1)
        )
        yield "## Files\n\n" + "\n".join(lines) + "\n"
    yield from _table(("Pin", "Description"), document.physical_io.items(), "Physical IO")
    yield from _table(
        ("Variable", "Description"), document.env_description.items(), "Env variable assignment"
    )
    yield from _table(
        ("Topic", "Description"), document.topic_assignment.items(), "Assignment of Device Topics"
    )
    yield from _steps("Work algorithm", document.work_algorithm.steps)
    yield from _steps("Installation", document.installation.steps)


def _table(
    header: tuple[str, ...], rows: Iterable[tuple[str, ...]], title: str | None = None
) -> Iterable[str]:
    lines = [f"| {' | '.join(_cell(value) for value in row)} |" for row in rows]
    if not lines:
        return
    heading = f"## {title}\n\n" if title else ""
    top = f"| {' | '.join(header)} |\n|{'---|' * len(header)}\n"
    yield heading + top + "\n".join(lines) + "\n"


def _steps(title: str, steps: list[str]) -> Iterable[str]:
    if steps:
        lines = (f"{number}. {step}" for number, step in enumerate(steps, start=1))
        yield f"## {title}\n\n" + "\n".join(lines) + "\n"


def _joined(items: list[str | Link]) -> str:
    return ", ".join(
        item if isinstance(item, str) else f"[{item.name}]({item.link})" for item in items
    )


def _author(author: Author) -> str:
    return f"[{author.name}](mailto:{author.email})" if author.email else author.name


def _as_list(urls: str | list[str]) -> list[str]:
    return [urls] if isinstance(urls, str) else urls


def _cell(text: str) -> str:
    """Text safe in a table cell or a heading: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")
