"""The committed example provisioning in `grafana/`: the pipelines of `pipelines/` applied (as
`pepeunit pipelines apply` does) to a small fleet of units, then generated.

Regenerate after changing the generator or the example pipelines:

    .venv/bin/python -m tests.grafana.examples
"""

import sys
import tempfile
from pathlib import Path
from uuid import UUID

from pepeunit_core.db.engine import make_engine, make_session_factory
from pepeunit_core.migrate import migrate_sql
from pepeunit_core.pipeline_store import apply_pipeline_files
from pepeunit_grafana import (
    Inventory,
    SqlDialect,
    build_dashboards,
    read_inventory,
    write_provisioning,
)
from pipelines.files import check_pipeline_files
from tests.grafana.builders import NodeSpec, UnitSpec, add_units

ROOT = Path(__file__).resolve().parents[2]
PIPELINES = ROOT / "examples" / "pipeline-files"
EXAMPLE_DIRECTORY = ROOT / "grafana"
EXAMPLE_DIALECT = SqlDialect.POSTGRESQL

# The nodes the example pipeline files bind to (by uuid, or pump-controller-01 by unit + topic).
EXAMPLE_UNITS = (
    UnitSpec(
        UUID("3f5d8a4e-2b1c-4e6f-9a7d-0c1b2a3d4e5f"),
        "greenhouse-01",
        (
            NodeSpec(UUID("5b3c6a1e-8f0e-4c5e-9a57-2f1d3c4b5a60"), "current_temp/pepeunit", None),
            NodeSpec(UUID("7c9e6679-7425-40de-944b-e07fc1f90ae7"), "humidity/pepeunit", None),
        ),
    ),
    UnitSpec(
        UUID("8a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"),
        "door-sensor-01",
        (NodeSpec(UUID("0f1e2d3c-4b5a-4697-8877-665544332211"), "door/pepeunit", None),),
    ),
    UnitSpec(
        UUID("c4d5e6f7-0a1b-4c2d-8e3f-4a5b6c7d8e9f"),
        "pump-controller-01",
        (NodeSpec(UUID("d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6"), "status/pepeunit", None),),
    ),
)


def example_inventory(database_url: str) -> Inventory:
    """Migrates `database_url`, adds the example units and applies `pipelines/` to them."""
    migrate_sql(database_url)
    report = check_pipeline_files([PIPELINES])
    assert report.ok, report.errors
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine).begin() as session:
            add_units(session, EXAMPLE_UNITS)
            applied = apply_pipeline_files(session, report.files)
            assert applied.ok, (
                "an example pipeline binds a node the example fleet lacks: add it to "
                f"EXAMPLE_UNITS in {Path(__file__).name}: {[str(e) for e in applied.errors]}"
            )
        with make_session_factory(engine)() as session:
            return read_inventory(session)
    finally:
        engine.dispose()


def generate_examples(directory: Path) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        inventory = example_inventory(f"sqlite:///{Path(scratch) / 'examples.sqlite'}")
    write_provisioning(directory, build_dashboards(inventory, EXAMPLE_DIALECT), EXAMPLE_DIALECT)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else EXAMPLE_DIRECTORY
    generate_examples(target)
    print(f"example provisioning written to {target}")
