"""Entry point of the `pepeunit` console script."""

import click

from pepeunit_cli.api import api
from pepeunit_cli.backup import backup, restore
from pepeunit_cli.bot import bot
from pepeunit_cli.broker import broker
from pepeunit_cli.demo import demo
from pepeunit_cli.flow import flow
from pepeunit_cli.grafana import grafana
from pepeunit_cli.migrate import migrate
from pepeunit_cli.notifier import notifier
from pepeunit_cli.pipeline_rejections import rejections
from pepeunit_cli.pipelines import pipelines
from pepeunit_cli.rollout import rollout
from pepeunit_cli.up import up
from pepeunit_cli.user_export import user


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pepeunit")
def main() -> None:
    """Pepeunit: IoT units from git repositories, and the data plane for their MQTT data."""


pipelines.add_command(rejections)
main.add_command(pipelines)
main.add_command(flow)
main.add_command(migrate)
main.add_command(api)
main.add_command(broker)
main.add_command(grafana)
main.add_command(up)
main.add_command(notifier)
main.add_command(bot)
main.add_command(demo)
main.add_command(backup)
main.add_command(restore)
main.add_command(rollout)
main.add_command(user)
