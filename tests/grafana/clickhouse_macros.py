"""The time-range macros of the Grafana ClickHouse plugin, expanded as the plugin documents them
(docs/sources/query-editor.md, "Macros"; pkg/macros/macros.go), so panel SQL can run on chdb.

Any `$__` left after expansion is an error: a macro the plugin would not know, or one this
expander does not mirror yet.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


class UnknownMacroError(ValueError):
    pass


@dataclass(frozen=True)
class QueryContext:
    """What Grafana passes with a query: the panel's time range and interval."""

    time_from: datetime
    time_to: datetime
    interval_s: int = 60


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _seconds(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(seconds=1)


def _milliseconds(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _date_time(moment: datetime) -> str:
    return f"toDateTime({_seconds(moment)})"


def _date_time_ms(moment: datetime) -> str:
    return f"fromUnixTimestamp64Milli({_milliseconds(moment)})"


def _date(moment: datetime) -> str:
    return f"toDate('{moment:%Y-%m-%d}')"


def _between(column: str, low: str, high: str) -> str:
    return f"{column} >= {low} AND {column} <= {high}"


def _one(name: str, arguments: list[str]) -> str:
    if len(arguments) != 1:
        raise UnknownMacroError(f"$__{name} takes 1 argument, got {len(arguments)}")
    return arguments[0]


def _expand(name: str, arguments: list[str] | None, context: QueryContext) -> str:
    start, end = context.time_from, context.time_to
    plain = {
        "fromTime": _date_time(start),
        "toTime": _date_time(end),
        "fromTime_ms": _date_time_ms(start),
        "toTime_ms": _date_time_ms(end),
        "interval_s": str(max(context.interval_s, 1)),
    }
    if arguments is None:
        if name not in plain:
            raise UnknownMacroError(f"$__{name} needs arguments or is not a plugin macro")
        return plain[name]
    match name:
        case "timeFilter":
            return _between(_one(name, arguments), _date_time(start), _date_time(end))
        case "timeFilter_ms":
            return _between(_one(name, arguments), _date_time_ms(start), _date_time_ms(end))
        case "dateFilter":
            return _between(_one(name, arguments), _date(start), _date(end))
        case "timeFrom":
            return f"{_one(name, arguments)} >= {_date_time(start)}"
        case "timeTo":
            return f"{_one(name, arguments)} <= {_date_time(end)}"
        case "timeInterval":
            interval = max(context.interval_s, 1)
            column = _one(name, arguments)
            return f"toStartOfInterval(toDateTime({column}), INTERVAL {interval} second)"
    raise UnknownMacroError(f"$__{name}(...) is not mirrored here")


_MACRO = re.compile(r"\$__(\w+)")


def _arguments(sql: str, start: int) -> tuple[list[str], int]:
    """The comma-separated arguments of the parenthesis at `start`, and the index after it."""
    depth, index = 0, start
    while index < len(sql):
        character = sql[index]
        depth += character == "("
        depth -= character == ")"
        if depth == 0:
            inner = sql[start + 1 : index]
            return [part.strip() for part in inner.split(",")] if inner.strip() else [], index + 1
        index += 1
    raise UnknownMacroError(f"unbalanced parenthesis after position {start}")


def expand_macros(sql: str, context: QueryContext) -> str:
    out: list[str] = []
    position = 0
    while (match := _MACRO.search(sql, position)) is not None:
        out.append(sql[position : match.start()])
        name, after = match.group(1), match.end()
        if after < len(sql) and sql[after] == "(":
            arguments, after = _arguments(sql, after)
            out.append(_expand(name, arguments, context))
        else:
            out.append(_expand(name, None, context))
        position = after
    out.append(sql[position:])
    expanded = "".join(out)
    if "$__" in expanded:
        raise UnknownMacroError(f"unexpanded macro left in {expanded!r}")
    return expanded
