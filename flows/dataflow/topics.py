"""Node topics: `{domain}/{node_uuid}/pepeunit`."""

_SUFFIX = "pepeunit"
_UUID_LENGTH = 36


def node_of_topic(topic: str, domain: str) -> str | None:
    """The node uuid (lower case) of a node topic of this domain, or None."""
    prefix_length = len(domain) + 1
    if not topic.startswith(domain) or topic[len(domain) : prefix_length] != "/":
        return None
    rest = topic[prefix_length:]
    node, separator, suffix = rest.partition("/")
    if separator != "/" or suffix != _SUFFIX or len(node) != _UUID_LENGTH:
        return None
    return node.lower()
