"""`--stage` of `pepeunit rollout create`: a stage written as `[NAME:]SIZE[,KEY=VALUE...]`
turned into the API's stage object (docs/api.md#rollouts). Pure, so every form is tested
without a platform.

SIZE is `N` (N more units), `N%` (until N % of the units are updated) or `all` (100 %); NAME
is a label for the reader (`canary:1`), not stored. KEY=VALUE overrides a gate of that stage:
`soak`, `deadline` (seconds), `max-errors`, `max-rejections` (counts)."""

import re
from dataclasses import dataclass
from typing import Any

_SIZE = re.compile(r"^(?:(?P<percent>\d+)%|(?P<units>\d+)|(?P<all>all))$", re.IGNORECASE)
_NAME = re.compile(r"^[A-Za-z][\w-]*$")
FULL_PERCENT = 100
_GATE_KEYS = {
    "soak": "soak_seconds",
    "deadline": "confirm_deadline_seconds",
    "max-errors": "max_error_log_increase",
    "max-rejections": "max_rejection_increase",
}


class StageSpecError(ValueError):
    """A `--stage` that cannot be read; the message names the stage and what is wrong."""


@dataclass(frozen=True)
class StageDefaults:
    soak_seconds: int
    confirm_deadline_seconds: int
    max_error_log_increase: int | None = None
    max_rejection_increase: int | None = None


def parse_stage(text: str, defaults: StageDefaults) -> dict[str, Any]:
    """The API's stage object for one `--stage`."""
    head, *options = [part.strip() for part in text.split(",")]
    name, _, size = head.rpartition(":")
    if name and not _NAME.match(name):
        raise StageSpecError(f"stage {text!r}: the name {name!r} must be a word, e.g. canary")
    stage: dict[str, Any] = _size(text, size) | {
        "soak_seconds": defaults.soak_seconds,
        "confirm_deadline_seconds": defaults.confirm_deadline_seconds,
        "max_error_log_increase": defaults.max_error_log_increase,
        "max_rejection_increase": defaults.max_rejection_increase,
    }
    for option in options:
        key, equals, value = option.partition("=")
        field = _GATE_KEYS.get(key.strip().lower())
        if field is None or not equals:
            known = ", ".join(f"{gate}=N" for gate in _GATE_KEYS)
            raise StageSpecError(f"stage {text!r}: {option!r} is not one of {known}")
        stage[field] = _count(text, key.strip(), value.strip())
    return stage


def parse_stages(texts: tuple[str, ...] | list[str], defaults: StageDefaults) -> list[dict]:
    if not texts:
        raise StageSpecError("no --stage given, e.g. --stage canary:1 --stage 50% --stage all")
    return [parse_stage(text, defaults) for text in texts]


def describe_stage(stage: dict[str, Any]) -> str:
    """A stage as `--stage` writes it, e.g. `50%` or `1 unit`."""
    value = stage["size_value"]
    if stage["size_kind"] == "Percent":
        return "all" if value == FULL_PERCENT else f"{value}%"
    return f"{value} unit" + ("" if value == 1 else "s")


def _size(text: str, size: str) -> dict[str, Any]:
    match = _SIZE.match(size.strip())
    if match is None:
        raise StageSpecError(f"stage {text!r}: the size {size!r} must be N (units), N% or all")
    if match["all"]:
        return {"size_kind": "Percent", "size_value": FULL_PERCENT}
    if match["percent"]:
        percent = int(match["percent"])
        if percent > FULL_PERCENT:
            raise StageSpecError(f"stage {text!r}: {percent}% is more than 100%")
        return {"size_kind": "Percent", "size_value": percent}
    return {"size_kind": "Units", "size_value": int(match["units"])}


def _count(text: str, key: str, value: str) -> int:
    if not value.isdigit():
        raise StageSpecError(f"stage {text!r}: {key} must be a whole number, not {value!r}")
    return int(value)
