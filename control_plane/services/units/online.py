"""When a unit counts as online: a state report came in within twice `PU_STATE_SEND_INTERVAL`
(units report once per interval; docs/compatibility.md#state-and-log-reports), by its
`last_state_report_datetime`, which only state reports move."""

from datetime import datetime, timedelta

from pepeunit_core.settings import Settings


def online_window(settings: Settings) -> timedelta:
    return timedelta(seconds=2 * settings.state_send_interval)


def is_online(settings: Settings, reported: datetime | None, now: datetime) -> bool:
    return reported is not None and now - reported <= online_window(settings)
