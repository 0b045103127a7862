"""The reference pipeline configuration: `active_period`, `filters`, `transformations`,
`processing_policy`, with the reference field names, enum values, ranges and rules.

Cross-field rules raise `RuleViolationError`, which names the field it is about, so that every error
can be reported as `<Stage>.<field>`. A section's cross-field rules run only when its fields
validated, and stop at the first rule broken (as in the reference).
"""

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from pipelines.alert_rules import (
    MAX_ALERT_RULES,
    AlertRule,
    OfflineRule,
    ThresholdRule,
    check_alert_rules,
)
from pipelines.clock import from_epoch_ms
from pipelines.rule_violation import RuleViolationError

DEFAULT_MAX_PAYLOAD_SIZE = 256 * 1024
"""`max_size` upper bound: `PU_MQTT_MAX_PAYLOAD_SIZE` (KB) * 1024, reference default 256 KB."""

MAX_PAYLOAD_SIZE_CONTEXT_KEY = "max_payload_size"

TIME_WINDOW_SIZES: tuple[int, ...] = (
    60, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 14400, 21600, 28800, 43200, 86400,
)  # fmt: skip
"""Allowed window sizes in seconds; each divides 86400 so windows line up with UTC midnight."""

N_RECORDS_MIN, N_RECORDS_MAX = 1, 1024
MAX_RATE_LIMIT = 86400
ROUND_DECIMAL_POINT_MAX = 7


class ActivePeriodType(StrEnum):
    PERMANENT = "Permanent"
    FROM_DATE = "FromDate"
    TO_DATE = "ToDate"
    DATE_RANGE = "DateRange"


class TypeInputValue(StrEnum):
    NUMBER = "Number"
    TEXT = "Text"


class TypeValueFiltering(StrEnum):
    WHITE_LIST = "WhiteList"
    BLACK_LIST = "BlackList"


class TypeValueThreshold(StrEnum):
    MIN = "Min"
    MAX = "Max"
    RANGE = "Range"


class PolicyType(StrEnum):
    LAST_VALUE = "LastValue"
    N_RECORDS = "NRecords"
    TIME_WINDOW = "TimeWindow"
    AGGREGATION = "Aggregation"


class AggregationFunction(StrEnum):
    AVG = "Avg"
    MIN = "Min"
    MAX = "Max"
    SUM = "Sum"


def _when(conditions: dict[str, list[str]], then: dict[str, Any]) -> dict[str, Any]:
    """JSON Schema rule: `then` applies when every field in `conditions` has one of its values."""
    return {
        "if": {
            "properties": {field: {"enum": values} for field, values in conditions.items()},
            "required": list(conditions),
        },
        "then": then,
    }


def _present(field: str, **constraints: Any) -> dict[str, Any]:
    """JSON Schema: `field` must be given, not null, and meet `constraints`."""
    return {"required": [field], "properties": {field: {"not": {"type": "null"}, **constraints}}}


def _list_of(json_type: str) -> dict[str, Any]:
    items = {"type": "array", "items": {"type": json_type}}
    return {"properties": {"filtering_values": {"anyOf": [items, {"type": "null"}]}}}


class ActivePeriod(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "allOf": [
                _when({"type": ["FromDate", "DateRange"]}, _present("start")),
                _when({"type": ["ToDate", "DateRange"]}, _present("end")),
            ]
        },
    )

    type: ActivePeriodType
    # docs/compatibility.md#naive-datetimes-are-errors: a datetime without a zone is an error, never
    # a silently dead node.
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None

    @model_validator(mode="after")
    def _bounds_present_and_ordered(self) -> Self:
        if self.type is ActivePeriodType.FROM_DATE and self.start is None:
            raise RuleViolationError("start", "bounds", "start must be provided for FROM_DATE")
        if self.type is ActivePeriodType.TO_DATE and self.end is None:
            raise RuleViolationError("end", "bounds", "end must be provided for TO_DATE")
        if self.type is ActivePeriodType.DATE_RANGE:
            if self.start is None or self.end is None:
                missing = "start" if self.start is None else "end"
                raise RuleViolationError(
                    missing, "bounds", "start and end must be provided for DATE_RANGE"
                )
            if self.start >= self.end:
                raise RuleViolationError("end", "order", "start must be earlier than end")
        return self

    def is_active_at(self, now_ms: int) -> bool:
        """`is_active` at an epoch-milliseconds time (the pipelines' hot path)."""
        if self.type is ActivePeriodType.PERMANENT:
            return True
        return self.is_active(from_epoch_ms(now_ms))

    def is_active(self, now: datetime) -> bool:
        """Bounds are strict, as in the reference."""
        match self.type:
            case ActivePeriodType.PERMANENT:
                return True
            case ActivePeriodType.FROM_DATE:
                return self.start is not None and now > self.start
            case ActivePeriodType.TO_DATE:
                return self.end is not None and now < self.end
            case ActivePeriodType.DATE_RANGE:
                return (
                    self.start is not None and self.end is not None and self.start < now < self.end
                )
        return False


_LISTS = ["WhiteList", "BlackList"]


class Filters(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "allOf": [
                _when(
                    {"type_input_value": ["Number"], "type_value_filtering": _LISTS},
                    _list_of("number"),
                ),
                _when(
                    {"type_input_value": ["Text"], "type_value_filtering": _LISTS},
                    _list_of("string"),
                ),
                _when(
                    {"type_input_value": ["Number"], "type_value_threshold": ["Min", "Range"]},
                    _present("threshold_min"),
                ),
                _when(
                    {"type_input_value": ["Number"], "type_value_threshold": ["Max", "Range"]},
                    _present("threshold_max"),
                ),
            ]
        },
    )

    type_input_value: TypeInputValue
    type_value_filtering: TypeValueFiltering | None = None
    filtering_values: list[str | int | float] | None = None
    type_value_threshold: TypeValueThreshold | None = None
    threshold_min: int | None = None
    threshold_max: int | None = None
    max_rate: int = Field(ge=0, le=MAX_RATE_LIMIT)
    last_unique_check: bool = False
    max_size: int = Field(ge=0, json_schema_extra={"maximum": DEFAULT_MAX_PAYLOAD_SIZE})

    @field_validator("max_size", mode="after")
    @classmethod
    def _max_size_within_broker_limit(cls, value: int, info: ValidationInfo) -> int:
        limit = (info.context or {}).get(MAX_PAYLOAD_SIZE_CONTEXT_KEY, DEFAULT_MAX_PAYLOAD_SIZE)
        if value > limit:
            raise PydanticCustomError(
                "less_than_equal", "Input should be less than or equal to {le}", {"le": limit}
            )
        return value

    @model_validator(mode="after")
    def _values_and_thresholds_fit_the_type(self) -> Self:
        is_number = self.type_input_value is TypeInputValue.NUMBER
        if self.type_value_filtering is not None and self.filtering_values is not None:
            if is_number and any(isinstance(v, str) for v in self.filtering_values):
                raise RuleViolationError(
                    "filtering_values",
                    "item_type",
                    "All filtering_values must be numbers when type_input_value is Number",
                )
            if not is_number and any(not isinstance(v, str) for v in self.filtering_values):
                raise RuleViolationError(
                    "filtering_values",
                    "item_type",
                    "All filtering_values must be strings when type_input_value is Text",
                )
        threshold = self.type_value_threshold
        if threshold is not None and is_number:
            needs_min = threshold in (TypeValueThreshold.MIN, TypeValueThreshold.RANGE)
            needs_max = threshold in (TypeValueThreshold.MAX, TypeValueThreshold.RANGE)
            if needs_min and self.threshold_min is None:
                raise RuleViolationError(
                    "threshold_min", "bounds", f"threshold_min must be provided for {threshold}"
                )
            if needs_max and self.threshold_max is None:
                raise RuleViolationError(
                    "threshold_max", "bounds", f"threshold_max must be provided for {threshold}"
                )
            if (
                threshold is TypeValueThreshold.RANGE
                and self.threshold_min is not None
                and self.threshold_max is not None
                and self.threshold_min >= self.threshold_max
            ):
                raise RuleViolationError(
                    "threshold_max", "order", "threshold_min must be less than threshold_max"
                )
        return self


class Transformations(BaseModel):
    model_config = ConfigDict(extra="ignore")

    multiplication_ratio: float | None = None
    round_decimal_point: int | None = Field(default=None, ge=0, le=ROUND_DECIMAL_POINT_MAX)
    slice_start: int | None = None
    slice_end: int | None = None


class ProcessingPolicy(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "allOf": [
                _when(
                    {"policy_type": ["NRecords"]},
                    _present("n_records_count", minimum=N_RECORDS_MIN, maximum=N_RECORDS_MAX),
                ),
                _when(
                    {"policy_type": ["TimeWindow", "Aggregation"]},
                    _present("time_window_size", enum=list(TIME_WINDOW_SIZES)),
                ),
                _when({"policy_type": ["Aggregation"]}, _present("aggregation_functions")),
            ]
        },
    )

    policy_type: PolicyType
    n_records_count: int | None = None
    time_window_size: int | None = None
    aggregation_functions: AggregationFunction | None = None

    @model_validator(mode="after")
    def _policy_parameters_present(self) -> Self:
        policy = self.policy_type
        if policy is PolicyType.N_RECORDS and not (
            self.n_records_count is not None
            and N_RECORDS_MIN <= self.n_records_count <= N_RECORDS_MAX
        ):
            raise RuleViolationError(
                "n_records_count",
                "range",
                f"n_records_count must be between {N_RECORDS_MIN} and {N_RECORDS_MAX}",
            )
        if policy in (PolicyType.TIME_WINDOW, PolicyType.AGGREGATION) and (
            self.time_window_size not in TIME_WINDOW_SIZES
        ):
            raise RuleViolationError(
                "time_window_size",
                "allowed_values",
                f"Invalid time_window_size. Must be one of: {list(TIME_WINDOW_SIZES)}",
            )
        if policy is PolicyType.AGGREGATION and self.aggregation_functions is None:
            raise RuleViolationError(
                "aggregation_functions",
                "bounds",
                "aggregation_functions must be provided for Aggregation",
            )
        return self


class PipelineConfig(BaseModel):
    """The four stages of a pipeline, exactly the reference DataPipe config."""

    model_config = ConfigDict(extra="ignore")

    SECTIONS: ClassVar[dict[str, str]] = {
        "active_period": "ActivePeriod",
        "filters": "Filters",
        "transformations": "Transformations",
        "processing_policy": "ProcessingPolicy",
        "alerts": "Alerts",
    }

    active_period: ActivePeriod
    filters: Filters
    transformations: Transformations | None = None
    processing_policy: ProcessingPolicy
    alerts: list[AlertRule] | None = Field(
        default=None,
        max_length=MAX_ALERT_RULES,
        description="Alert rules on accepted values (an extension; see docs/pipelines.md#alerts).",
    )

    @field_validator("alerts")
    @classmethod
    def _alerts_fit_the_pipeline(
        cls, rules: list[ThresholdRule | OfflineRule] | None, info: ValidationInfo
    ) -> list[ThresholdRule | OfflineRule] | None:
        filters = info.data.get("filters")
        if rules and filters is not None:
            check_alert_rules(rules, filters.type_input_value is TypeInputValue.NUMBER)
        return rules or None
