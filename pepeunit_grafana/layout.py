"""Where panels go and what they are called inside a dashboard, decided only by the nodes.

A panel's id comes from its node's uuid, so links to a panel (`viewPanel=<id>`) survive other
nodes being added or removed. Stats (small) come first, four to a row, then the charts and
tables, two to a row, each group in the unit's node order.
"""

from collections.abc import Sequence
from uuid import UUID

GRID_COLUMNS = 24
STAT_SIZE = (6, 4)
CHART_SIZE = (12, 8)
_ID_HEX_DIGITS = 7  # ids stay far below 2**31, whatever reads them


def panel_ids(node_uuids: Sequence[UUID]) -> list[int]:
    """One id per node, unique within the dashboard; a clash moves the later node (in the
    given order) to the next free id."""
    taken: set[int] = set()
    ids: list[int] = []
    for node_uuid in node_uuids:
        panel_id = int(node_uuid.hex[:_ID_HEX_DIGITS], 16) + 1
        while panel_id in taken:
            panel_id += 1
        taken.add(panel_id)
        ids.append(panel_id)
    return ids


def grid_positions(small: Sequence[bool]) -> list[dict[str, int]]:
    """A gridPos per panel, `small[i]` telling whether panel i is a stat.

    Every panel keeps its index; the stats are laid out before the others.
    """
    positions: list[dict[str, int] | None] = [None] * len(small)
    y = 0
    for is_small in (True, False):
        width, height = STAT_SIZE if is_small else CHART_SIZE
        x = 0
        row_used = False
        for index, flag in enumerate(small):
            if flag is not is_small:
                continue
            if x + width > GRID_COLUMNS:
                x, y = 0, y + height
            positions[index] = {"h": height, "w": width, "x": x, "y": y}
            x += width
            row_used = True
        if row_used:
            y += height
    return [position for position in positions if position is not None]
