"""Why a message was not stored: the stage that rejected it and the rule."""

from dataclasses import dataclass

from pipelines.config import PipelineConfig


@dataclass(frozen=True, slots=True)
class Rejection:
    stage: str
    reason: str

    def __str__(self) -> str:
        return f"{self.stage}.{self.reason}"


INACTIVE_PERIOD = Rejection("ActivePeriod", "inactive_period")
NOT_A_NUMBER = Rejection("Filters", "not_a_number")
NOT_IN_WHITE_LIST = Rejection("Filters", "not_in_white_list")
IN_BLACK_LIST = Rejection("Filters", "in_black_list")
OUTSIDE_THRESHOLD = Rejection("Filters", "threshold")
MAX_RATE = Rejection("Filters", "max_rate")
MAX_SIZE = Rejection("Filters", "max_size")
DUPLICATE = Rejection("Filters", "last_unique_check")
NON_FINITE_RESULT = Rejection("Transformations", "non_finite_result")
AGGREGATED_NOT_A_NUMBER = Rejection("ProcessingPolicy", "not_a_number")
WINDOW_ALREADY_CLOSED = Rejection("ProcessingPolicy", "window_closed")

ALL_REJECTIONS: tuple[Rejection, ...] = (
    INACTIVE_PERIOD,
    NOT_A_NUMBER,
    NOT_IN_WHITE_LIST,
    IN_BLACK_LIST,
    OUTSIDE_THRESHOLD,
    MAX_RATE,
    MAX_SIZE,
    DUPLICATE,
    NON_FINITE_RESULT,
    AGGREGATED_NOT_A_NUMBER,
    WINDOW_ALREADY_CLOSED,
)

# Dropped before the pipeline runs: the payload itself cannot be a value.
TOO_LARGE = Rejection("Message", "too_large")
INVALID_UTF8 = Rejection("Message", "invalid_utf8")
NUL_CHARACTER = Rejection("Message", "nul_character")


def explain(rejection: Rejection, config: PipelineConfig) -> str:
    """Why the rule rejected a message, with the config values it used."""
    filters = config.filters
    policy = config.processing_policy
    match rejection:
        case Rejection("ActivePeriod", _):
            period = config.active_period
            bounds = ", ".join(
                f"{name} {moment.isoformat()}"
                for name, moment in (("start", period.start), ("end", period.end))
                if moment is not None
            )
            shown = f"{period.type}: {bounds}" if bounds else str(period.type)
            return f"received outside the active period ({shown})"
        case Rejection("Filters", "not_a_number"):
            return "not a finite number, and type_input_value is Number"
        case Rejection("Filters", "not_in_white_list"):
            return "not one of filtering_values (WhiteList)"
        case Rejection("Filters", "in_black_list"):
            return "one of filtering_values (BlackList)"
        case Rejection("Filters", "threshold"):
            bounds = []
            if filters.type_value_threshold in ("Min", "Range"):
                bounds.append(f"threshold_min {filters.threshold_min}")
            if filters.type_value_threshold in ("Max", "Range"):
                bounds.append(f"threshold_max {filters.threshold_max}")
            return f"outside the threshold ({filters.type_value_threshold}: {', '.join(bounds)})"
        case Rejection("Filters", "max_rate"):
            return f"less than max_rate {filters.max_rate} s after the last accepted value"
        case Rejection("Filters", "max_size"):
            return f"longer than max_size {filters.max_size} bytes"
        case Rejection("Filters", "last_unique_check"):
            return "the same as the last accepted value (last_unique_check)"
        case Rejection("Transformations", _):
            return "the transformations made it a non-finite number"
        case Rejection("ProcessingPolicy", "not_a_number"):
            return f"not a finite number, which the {policy.policy_type} policy needs"
        case Rejection("ProcessingPolicy", "window_closed"):
            return "its aggregation window had already been stored"
        case Rejection("Message", "too_large"):
            return "larger than PU_MQTT_MAX_PAYLOAD_SIZE"
        case Rejection("Message", "invalid_utf8"):
            return "not UTF-8 text"
        case Rejection("Message", "nul_character"):
            return "contains a NUL character"
    return str(rejection)
