"""Where the demo finds what it runs: the example units, their pipelines and the SDK, in the
repository this package is installed from (`./pepeunit` installs it in place)."""

from dataclasses import dataclass
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


class SourcesNotFoundError(RuntimeError):
    """The demo does not run from a clone of the repository."""


@dataclass(frozen=True)
class DemoSources:
    examples: Path
    """One directory per example unit (`examples/thermometer`, ...)."""
    pipelines: Path
    """Pipeline files bound to the demo's units by name (`unit:` + `topic:`)."""
    sdk: Path
    """The directory holding the `pepeunit_sdk` package."""


def find_sources(root: Path = REPOSITORY_ROOT) -> DemoSources:
    sources = DemoSources(
        examples=root / "examples",
        pipelines=root / "examples" / "pipelines",
        sdk=root / "sdk",
    )
    for directory in (sources.examples, sources.pipelines, sources.sdk / "pepeunit_sdk"):
        if not directory.is_dir():
            raise SourcesNotFoundError(
                f"{directory} is missing: pepeunit demo runs from a clone of the repository "
                "(examples/ and sdk/ next to pepeunit_cli/)"
            )
    return sources
