"""Topics the dataflow reads (docs/compatibility.md#topics): node topics
`{domain}/{node_uuid}/pepeunit`, plain node topics `{domain}/{node_uuid}` (only routed, never
stored) and unit reports `{domain}/output_base_topic/{unit_uuid}/{state|log}/pepeunit`."""

from pepeunit_core.topics import BaseTopicDestination, ReportTopicName

_SUFFIX = "pepeunit"
_UUID_LENGTH = 36
_REPORTS = frozenset(ReportTopicName)


def _after_domain(topic: str, domain: str) -> str | None:
    prefix_length = len(domain) + 1
    if not topic.startswith(domain) or topic[len(domain) : prefix_length] != "/":
        return None
    return topic[prefix_length:]


def node_of_topic(topic: str, domain: str) -> str | None:
    """The node uuid (lower case) of a node topic of this domain, or None."""
    rest = _after_domain(topic, domain)
    if rest is None:
        return None
    node, separator, suffix = rest.partition("/")
    if separator != "/" or suffix != _SUFFIX or len(node) != _UUID_LENGTH:
        return None
    return node.lower()


def is_plain_node_topic(topic: str, domain: str) -> bool:
    """`{domain}/{node}`: routed between units by the intake, not stored."""
    rest = _after_domain(topic, domain)
    return rest is not None and "/" not in rest and len(rest) == _UUID_LENGTH


def unit_report_of_topic(topic: str, domain: str) -> tuple[str, ReportTopicName] | None:
    """(unit uuid in lower case, report) of a unit's state or log topic, or None."""
    rest = _after_domain(topic, domain)
    if rest is None:
        return None
    parts = rest.split("/")
    if len(parts) != 4 or parts[0] != BaseTopicDestination.OUTPUT or parts[3] != _SUFFIX:
        return None
    unit, report = parts[1], parts[2]
    if len(unit) != _UUID_LENGTH or report not in _REPORTS:
        return None
    return unit.lower(), ReportTopicName(report)


NODE, UNIT_REPORT, PLAIN_NODE, BAD = "node", "unit_report", "plain_node", "bad"

TopicKind = tuple[str, str, str]
"""(NODE, node, "") | (UNIT_REPORT, unit, report name) | (PLAIN_NODE, "", "") | (BAD, "", "")."""

_PLAIN: TopicKind = (PLAIN_NODE, "", "")
_BAD: TopicKind = (BAD, "", "")


class TopicKinds:
    """What each topic of a domain is, parsed once per topic: devices publish on the same few
    topics over and over. Remembers at most `capacity` topics (then starts afresh), so a flood
    of distinct topics costs parsing, not memory."""

    def __init__(self, domain: str, capacity: int = 100_000) -> None:
        self._domain = domain
        self._capacity = capacity
        self._known: dict[str, TopicKind] = {}

    def __call__(self, topic: str) -> TopicKind:
        kind = self._known.get(topic)
        if kind is None:
            kind = self._parse(topic)
            if len(self._known) >= self._capacity:
                self._known.clear()
            self._known[topic] = kind
        return kind

    def _parse(self, topic: str) -> TopicKind:
        node = node_of_topic(topic, self._domain)
        if node is not None:
            return NODE, node, ""
        report = unit_report_of_topic(topic, self._domain)
        if report is not None:
            return UNIT_REPORT, report[0], report[1].value
        return _PLAIN if is_plain_node_topic(topic, self._domain) else _BAD
