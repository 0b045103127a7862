"""`pepeunit demo`: the command line."""

import logging
from pathlib import Path

import click

DEFAULT_PORT = 5000
DEFAULT_WORK_DIR = Path("pepeunit-demo")
HOST = "127.0.0.1"


@click.command()
@click.option("--port", type=click.IntRange(1, 65535), default=DEFAULT_PORT, show_default=True)
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_WORK_DIR,
    show_default=True,
    help="Made afresh for each run: the units' git repositories, archives, programs and output, "
    "and the platform's data unless PU_DATA_DIR is set.",
)
def demo(port: int, work_dir: Path) -> None:
    """Start the platform (as `pepeunit up`) and a small living system on it.

    Two example units written with the device SDK (examples/thermometer, examples/heater) get
    git repositories of their own, are registered and created, the thermometer's output is
    linked to the heater's input, the pipelines of examples/pipelines are set (Aggregation on
    the temperature, NRecords on the heater's decisions), and each unit's firmware archive is
    downloaded, unpacked and run as a process. The guide printed then says where to look.
    Ctrl-C stops the units, then the platform.
    """
    from pepeunit_cli.demo.runner import DemoRunner
    from pepeunit_cli.demo.sources import SourcesNotFoundError, find_sources
    from pepeunit_cli.demo.unit_runtime import UnitRuntimeError, prepare_unit_runtime
    from pepeunit_cli.demo.work_dir import WorkDirError, fresh_work_dir
    from pepeunit_cli.platform import PlatformStartError, UpOptions, run_platform
    from pepeunit_core.settings import Settings

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        sources = find_sources()
        work = fresh_work_dir(work_dir)
        runtime = prepare_unit_runtime(sources.sdk)
    except (SourcesNotFoundError, WorkDirError, UnitRuntimeError) as error:
        raise click.ClickException(str(error)) from None
    settings = Settings()
    data_dir_given = "data_dir" in settings.model_fields_set
    if not data_dir_given:
        settings = settings.model_copy(update={"data_dir": work.data})
    if "registry_file_roots" not in settings.model_fields_set:
        settings = settings.model_copy(update={"registry_file_roots": (work.git,)})
    embedded = "mqtt_host" not in settings.model_fields_set
    runner = DemoRunner(work, sources, runtime, port)
    try:
        run_platform(settings, UpOptions(HOST, port, embedded), runner)
    except PlatformStartError as error:
        raise click.ClickException(str(error)) from None
    except KeyboardInterrupt:
        pass  # everything has stopped cleanly; uvicorn re-raises the Ctrl-C it handled
    if runner.failure is not None:
        hint = ""
        if data_dir_given:
            hint = f" (PU_DATA_DIR={settings.data_dir} may hold an earlier demo: use an empty one)"
        raise click.ClickException(f"the demo could not start: {runner.failure}{hint}")
