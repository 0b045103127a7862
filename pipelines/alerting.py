"""Alert rules evaluated on a node's accepted values and on the passing of time
(docs/pipelines.md#alerts). Plain Python with no I/O; the rule states live in the node's memory,
so they are recovered after a crash like the rest.

Per rule: `active` follows the condition with hysteresis; an alert is raised when the rule
turns active, no alert of it is open, and its cooldown has passed since its last alert; the
recovery comes when it turns inactive while an alert is open. So a value flapping across the
threshold within the cooldown gives one alert and one recovery. An `offline` rule turns active
once no value was accepted for `after` seconds (counted from the first accepted value or, for a
node never heard from, from when the dataflow started watching it) and inactive on the next
accepted value.
"""

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from pipelines.alert_rules import AlertEventKind, AlertType, OfflineRule, ThresholdRule
from pipelines.clock import from_epoch_ms
from pipelines.numbers import parse_finite_float

# Fixed, so an event's uuid depends only on what raised it: a replay writes the same row.
_ALERT_EVENT_NAMESPACE = uuid.UUID("9d2f4c1e-6a7b-4e58-8c3d-0b1a2f3e4d5c")


@dataclass(slots=True)
class RuleState:
    active: bool = False
    open_alert: bool = False
    last_alert_ms: int | None = None


@dataclass(slots=True)
class AlertMemory:
    rules: dict[str, RuleState] = field(default_factory=dict)
    """By rule label."""
    last_value_ms: int | None = None
    """When the last value was accepted, or when watching began (for `offline`)."""

    def copy(self) -> "AlertMemory":
        rules = {
            label: RuleState(rule.active, rule.open_alert, rule.last_alert_ms)
            for label, rule in self.rules.items()
        }
        return AlertMemory(rules, self.last_value_ms)


@dataclass(slots=True)
class AlertEventRow:
    """An alert or recovery for the notifier's outbox (`alert_events` in the SQL database)."""

    table: ClassVar[str] = "alert_events"
    uuid: str
    unit_node_uuid: str
    rule_name: str
    kind: str
    value: str | None
    message: str
    event_datetime: datetime


def _describe(rule: ThresholdRule | OfflineRule) -> str:
    if isinstance(rule, OfflineRule):
        return f"no accepted value for {rule.after} s"
    relation = "above" if rule.type == AlertType.ABOVE else "below"
    clear = f", clears at {rule.clear_level:g}" if rule.clear is not None else ""
    return f"{relation} {rule.threshold:g}{clear}"


class CompiledAlerts:
    """A node's alert rules, ready to evaluate."""

    __slots__ = ("_offline", "_thresholds", "has_offline", "node")

    def __init__(self, node: str, rules: list[ThresholdRule | OfflineRule]) -> None:
        self.node = node
        self._thresholds = [rule for rule in rules if isinstance(rule, ThresholdRule)]
        self._offline = [rule for rule in rules if isinstance(rule, OfflineRule)]
        self.has_offline = bool(self._offline)

    def on_value(
        self, memory: AlertMemory, value: str, now_ms: int, message_id: int | None = None
    ) -> list[AlertEventRow]:
        """After a value was accepted at `now_ms`. `message_id` (the dataflow's ingest id) is
        the identity of the message carrying it: events of one rule and kind raised in the
        same millisecond by different messages must not share a uuid."""
        events: list[AlertEventRow] = []
        memory.last_value_ms = now_ms
        for rule in self._offline:
            self._turn(memory, rule, False, value, now_ms, events, message_id)
        if self._thresholds:
            number = parse_finite_float(value)
            if number is not None:
                for rule in self._thresholds:
                    active = self._rule_state(memory, rule).active
                    self._turn(memory, rule, _threshold_active(rule, number, active), value,
                               now_ms, events, message_id)  # fmt: skip
        return events

    def on_time(self, memory: AlertMemory, now_ms: int) -> list[AlertEventRow]:
        """When the clock (the dataflow's watermark) reaches `now_ms`."""
        if not self._offline:
            return []
        if memory.last_value_ms is None:
            memory.last_value_ms = now_ms
            return []
        events: list[AlertEventRow] = []
        silence_ms = now_ms - memory.last_value_ms
        for rule in self._offline:
            if silence_ms >= rule.after * 1000:
                self._turn(memory, rule, True, None, now_ms, events)
        return events

    def _rule_state(self, memory: AlertMemory, rule: ThresholdRule | OfflineRule) -> RuleState:
        kept = memory.rules.get(rule.label)
        if kept is None:
            kept = memory.rules[rule.label] = RuleState()
        return kept

    def _turn(
        self,
        memory: AlertMemory,
        rule: ThresholdRule | OfflineRule,
        active: bool,
        value: str | None,
        now_ms: int,
        events: list[AlertEventRow],
        message_id: int | None = None,
    ) -> None:
        rule_state = self._rule_state(memory, rule)
        rule_state.active = active
        if active and not rule_state.open_alert:
            last = rule_state.last_alert_ms
            if last is None or now_ms - last >= rule.cooldown * 1000:
                rule_state.open_alert = True
                rule_state.last_alert_ms = now_ms
                events.append(self._event(rule, AlertEventKind.ALERT, value, now_ms, message_id))
        elif not active and rule_state.open_alert:
            rule_state.open_alert = False
            events.append(self._event(rule, AlertEventKind.RECOVERY, value, now_ms, message_id))

    def _event(
        self,
        rule: ThresholdRule | OfflineRule,
        kind: AlertEventKind,
        value: str | None,
        now_ms: int,
        message_id: int | None,
    ) -> AlertEventRow:
        # A message raises at most one event per rule; the clock raises at most one per rule
        # and watermark. So (rule, kind, time, message) never names two events.
        identity = f"{self.node}|{rule.label}|{kind.value}|{now_ms}"
        if message_id is not None:
            identity += f"|m{message_id}"
        return AlertEventRow(
            str(uuid.uuid5(_ALERT_EVENT_NAMESPACE, identity)),
            self.node,
            rule.label,
            kind.value,
            value,
            _describe(rule),
            from_epoch_ms(now_ms),
        )


def threshold_crossed(rule: ThresholdRule, number: float) -> bool:
    """Whether `number` raises the rule's alert (from the recovered state)."""
    return _threshold_active(rule, number, active=False)


def _threshold_active(rule: ThresholdRule, number: float, active: bool) -> bool:
    if rule.type == AlertType.ABOVE:
        return number > rule.threshold if not active else number > rule.clear_level
    return number < rule.threshold if not active else number < rule.clear_level
