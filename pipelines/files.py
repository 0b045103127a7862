"""Pipeline files (GitOps): YAML documents holding a binding plus the reference config."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pipelines.binding import BINDING_KEYS, BINDING_STAGE, Binding, validate_binding
from pipelines.config import DEFAULT_MAX_PAYLOAD_SIZE, PipelineConfig
from pipelines.issues import FILE_STAGE, ValidationIssue
from pipelines.section_keys import unknown_section_keys
from pipelines.validation import validate_config
from pipelines.yaml_lines import YamlLines, field_parts

PIPELINE_FILE_SUFFIXES = (".yaml", ".yml")
KNOWN_TOP_LEVEL_KEYS = frozenset(PipelineConfig.SECTIONS) | frozenset(BINDING_KEYS)


@dataclass(frozen=True, slots=True)
class PipelineFile:
    path: Path
    binding: Binding | None
    config: PipelineConfig


@dataclass(frozen=True, slots=True)
class FileIssue:
    path: Path
    issue: ValidationIssue
    line: int | None = None
    """1-based line of the field in the file, when the issue has a field the file holds."""

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else str(self.path)
        return f"{where}: {self.issue}"

    def as_dict(self) -> dict[str, str | int | None]:
        return {"path": str(self.path), "line": self.line, **self.issue.as_dict()}


@dataclass(slots=True)
class CheckReport:
    files: list[PipelineFile] = field(default_factory=list)
    errors: list[FileIssue] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def find_pipeline_files(paths: Iterable[Path]) -> list[Path]:
    """Files as given, and every *.yaml / *.yml below a directory (skipping hidden folders such
    as `.git` or `.github`), in a stable order."""
    found: list[Path] = []
    for path in paths:
        if not path.is_dir():
            found.append(path)
            continue
        found.extend(
            sorted(
                candidate
                for candidate in path.rglob("*")
                if candidate.suffix in PIPELINE_FILE_SUFFIXES
                and candidate.is_file()
                and not any(part.startswith(".") for part in candidate.relative_to(path).parts)
            )
        )
    return found


def _read_yaml(path: Path) -> tuple[object, str, ValidationIssue | None, int | None]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        issue = ValidationIssue(FILE_STAGE, "read", f"Cannot read the file: {error}", "read")
        return None, "", issue, None
    return _parse_yaml(text)


def _parse_yaml(text: str) -> tuple[object, str, ValidationIssue | None, int | None]:
    """The document, its text, and the issue that kept it from being read with its line."""
    try:
        return yaml.safe_load(text), text, None, None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        message = f"Not valid YAML: {where}{error.problem or error}"
        issue = ValidationIssue(FILE_STAGE, "yaml", message, "yaml_syntax")
        return None, text, issue, mark.line + 1 if mark else None
    except yaml.YAMLError as error:
        issue = ValidationIssue(FILE_STAGE, "yaml", f"Not valid YAML: {error}", "yaml_syntax")
        return None, text, issue, None
    except RecursionError:
        issue = ValidationIssue(FILE_STAGE, "yaml", "Nested too deeply", "yaml_depth")
        return None, text, issue, None


_SECTION_OF_STAGE = {stage: section for section, stage in PipelineConfig.SECTIONS.items()}


def _located(path: Path, issues: list[ValidationIssue], text: str) -> list[FileIssue]:
    """The issues with the line of their field in the file."""
    lines = YamlLines(text)
    located: list[FileIssue] = []
    for issue in issues:
        parts = field_parts(issue.field)
        section = _SECTION_OF_STAGE.get(issue.stage)
        if section is not None:
            parts = [section, *parts]
        line = lines.line_of(parts) if issue.stage != FILE_STAGE else None
        located.append(FileIssue(path, issue, line))
    return located


def load_pipeline_file(
    path: Path,
    *,
    require_binding: bool = True,
    max_payload_size: int = DEFAULT_MAX_PAYLOAD_SIZE,
    report: CheckReport | None = None,
) -> PipelineFile | None:
    """Loads and validates one file; errors and warnings go to `report`."""
    document, text, read_issue, line = _read_yaml(path)
    return _load_document(
        path, document, text, (read_issue, line), require_binding, max_payload_size, report
    )


def load_pipeline_text(
    path: Path,
    text: str,
    *,
    require_binding: bool = True,
    max_payload_size: int = DEFAULT_MAX_PAYLOAD_SIZE,
    report: CheckReport | None = None,
) -> PipelineFile | None:
    """As `load_pipeline_file`, for a file's `text` already in hand (an editor's draft); `path`
    only names it in the issues."""
    document, text, read_issue, line = _parse_yaml(text)
    return _load_document(
        path, document, text, (read_issue, line), require_binding, max_payload_size, report
    )


def _load_document(
    path: Path,
    document: object,
    text: str,
    unread: tuple[ValidationIssue | None, int | None],
    require_binding: bool,
    max_payload_size: int,
    report: CheckReport | None,
) -> PipelineFile | None:
    report = report if report is not None else CheckReport()
    read_issue, line = unread
    if read_issue is not None:
        report.errors.append(FileIssue(path, read_issue, line))
        return None
    config, issues = validate_config(document, max_payload_size)
    binding: Binding | None = None
    if isinstance(document, dict):
        if require_binding or any(key in document for key in BINDING_KEYS):
            binding, binding_issues = validate_binding(document)
            issues = binding_issues + issues
        issues = issues + unknown_section_keys(document)
        for key in document:
            if key not in KNOWN_TOP_LEVEL_KEYS:
                report.warnings.append(f"{path}: warning: unknown top-level key {key!r} is ignored")
    report.errors.extend(_located(path, issues, text))
    if issues or config is None:
        return None
    loaded = PipelineFile(path, binding, config)
    report.files.append(loaded)
    return loaded


def _flag_duplicate_bindings(report: CheckReport) -> None:
    first_file_of: dict[tuple[str | None, ...], Path] = {}
    for loaded in report.files:
        if loaded.binding is None:
            continue
        key = (loaded.binding.node_uuid, loaded.binding.unit, loaded.binding.topic)
        if key in first_file_of:
            message = f"{loaded.binding.describe()} is already bound by {first_file_of[key]}"
            issue = ValidationIssue(BINDING_STAGE, "node" if key[0] else "topic", message, "unique")
            report.errors.append(FileIssue(loaded.path, issue))
        else:
            first_file_of[key] = loaded.path


def check_pipeline_files(
    paths: Sequence[Path],
    *,
    require_binding: bool = True,
    max_payload_size: int = DEFAULT_MAX_PAYLOAD_SIZE,
) -> CheckReport:
    """Validates every pipeline file under `paths`, including that no two bind the same node."""
    report = CheckReport()
    for path in find_pipeline_files(paths):
        load_pipeline_file(
            path, require_binding=require_binding, max_payload_size=max_payload_size, report=report
        )
    _flag_duplicate_bindings(report)
    return report
