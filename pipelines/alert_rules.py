"""The `alerts:` section of a pipeline (docs/pipelines.md#alerts), an extension beyond the
reference:

```yaml
alerts:
  - {name: too hot, type: above, threshold: 30, clear: 28, cooldown: 600}
  - {name: too cold, type: below, threshold: 5}          # clear defaults to the threshold
  - {name: silent, type: offline, after: 900}            # no accepted value for 900 s
```

Thresholds compare the accepted value (after transformations) and need a `Number` pipeline.
`clear` is the hysteresis level at which an alert recovers (at or below it for `above`, at or
above it for `below`). `cooldown` (seconds) is the least time between two alerts of a rule, so
a flapping value gives one alert and one recovery, not a stream.
"""

from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipelines.rule_violation import RuleViolationError

MAX_ALERT_RULES = 16
MAX_SECONDS = 7 * 86400
DEFAULT_COOLDOWN_S = 300
NAME_MAX_LENGTH = 64


class AlertType(StrEnum):
    ABOVE = "above"
    BELOW = "below"
    OFFLINE = "offline"


class AlertEventKind(StrEnum):
    """What an alert event says: a rule starts to hold (Alert) or stops (Recovery)."""

    ALERT = "Alert"
    RECOVERY = "Recovery"


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(
        default=None, min_length=1, max_length=NAME_MAX_LENGTH, description="Shown in messages."
    )
    cooldown: int = Field(
        default=DEFAULT_COOLDOWN_S,
        ge=0,
        le=MAX_SECONDS,
        description="Least seconds between two alerts of this rule.",
    )


class ThresholdRule(_Rule):
    type: Literal["above", "below"]
    threshold: float = Field(allow_inf_nan=False)
    clear: float | None = Field(
        default=None,
        allow_inf_nan=False,
        description="Recovery level (default: the threshold).",
    )

    @property
    def clear_level(self) -> float:
        return self.threshold if self.clear is None else self.clear

    @property
    def label(self) -> str:
        return self.name or f"{self.type} {self.threshold:g}"

    @model_validator(mode="after")
    def _clear_on_the_safe_side(self) -> Self:
        if self.clear is None:
            return self
        if self.type == AlertType.ABOVE and self.clear > self.threshold:
            raise RuleViolationError(
                "clear", "hysteresis", "clear must not be above the threshold of an `above` rule"
            )
        if self.type == AlertType.BELOW and self.clear < self.threshold:
            raise RuleViolationError(
                "clear", "hysteresis", "clear must not be below the threshold of a `below` rule"
            )
        return self


class OfflineRule(_Rule):
    type: Literal["offline"]
    after: int = Field(ge=1, le=MAX_SECONDS, description="Seconds without an accepted value.")

    @property
    def label(self) -> str:
        return self.name or f"offline {self.after} s"


AlertRule = Annotated[ThresholdRule | OfflineRule, Field(discriminator="type")]


def check_alert_rules(rules: list[ThresholdRule | OfflineRule], numeric: bool) -> None:
    """Rules across the list and the pipeline: unique names, thresholds only on numbers."""
    seen: set[str] = set()
    for index, rule in enumerate(rules):
        if isinstance(rule, ThresholdRule) and not numeric:
            raise RuleViolationError(
                f"[{index}].type",
                "number_required",
                "threshold alerts need filters.type_input_value: Number",
            )
        if rule.label in seen:
            raise RuleViolationError(
                f"[{index}].name", "unique", f"two alert rules are named {rule.label!r}"
            )
        seen.add(rule.label)
