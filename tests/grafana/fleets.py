"""A fleet with a node of every policy and value type, in a migrated SQL database."""

from pathlib import Path
from uuid import UUID

from pepeunit_core.db.engine import make_engine, make_session_factory
from pepeunit_core.migrate import migrate_sql
from pepeunit_grafana import Inventory, read_inventory
from tests.grafana.builders import NodeSpec, UnitSpec, add_units, config

POLICIES = {
    "last": {"policy_type": "LastValue"},
    "nrec": {"policy_type": "NRecords", "n_records_count": 16},
    "window": {"policy_type": "TimeWindow", "time_window_size": 600},
    "agg": {"policy_type": "Aggregation", "time_window_size": 300, "aggregation_functions": "Max"},
}


def _uuid(prefix: int, index: int) -> UUID:
    return UUID(f"{prefix:08x}-0000-4000-8000-{index:012x}")


def every_kind_fleet() -> list[UnitSpec]:
    """`plant-a` with a Number and a Text node per policy (no Text aggregation) plus one
    inactive node; `plant-b` with one node; `idle-unit` without any pipeline."""
    nodes = [
        NodeSpec(
            _uuid(0xA0000000 + index, index),
            f"{name}_{kind.lower()}/pepeunit",
            config(policy, kind),
        )
        for index, (name, policy, kind) in enumerate(
            (name, policy, kind)
            for name, policy in POLICIES.items()
            for kind in ("Number", "Text")
            if not (name == "agg" and kind == "Text")
        )
    ]
    nodes.append(NodeSpec(_uuid(0xAF000000, 99), "off/pepeunit", None))
    return [
        UnitSpec(_uuid(0x10000000, 1), "plant-a", nodes),
        UnitSpec(
            _uuid(0x20000000, 2),
            "plant-b",
            [NodeSpec(_uuid(0xB0000000, 1), "temp/pepeunit", config(POLICIES["agg"]))],
        ),
        UnitSpec(
            _uuid(0x30000000, 3), "idle-unit", [NodeSpec(_uuid(0xC0000000, 1), "x/pepeunit", None)]
        ),
    ]


def database_with(url: str, units: list[UnitSpec]) -> str:
    migrate_sql(url)
    engine = make_engine(url)
    try:
        with make_session_factory(engine).begin() as session:
            add_units(session, units)
    finally:
        engine.dispose()
    return url


def inventory_of(url: str) -> Inventory:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            return read_inventory(session)
    finally:
        engine.dispose()


def sqlite_url(directory: Path, name: str = "pepeunit.sqlite") -> str:
    return f"sqlite:///{directory / name}"
