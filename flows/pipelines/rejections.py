"""Why a message was not stored: the stage that rejected it and the rule."""

from dataclasses import dataclass


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
