"""`pepeunit notifier`: sends the alerts the dataflow raised to Telegram."""

import logging
import signal
import threading

import click


@click.command()
@click.option(
    "--poll-interval", type=click.FloatRange(min=0.05), default=1.0, show_default=True,
    help="Seconds between looks at the alert outbox when it is empty.",
)  # fmt: skip
def notifier(poll_interval: float) -> None:
    """Deliver alert events from the SQL database to the Telegram chats linked to the nodes'
    owners (PU_TELEGRAM_TOKEN, PU_TELEGRAM_API_URL, PU_SQLALCHEMY_DATABASE_URL). Several may
    run; each event is sent by one of them. Stops on SIGTERM or Ctrl-C."""
    from control_plane.notifier.service import Notifier
    from pepeunit_core.db.engine import make_engine, make_session_factory
    from pepeunit_core.settings import Settings

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = Settings()
    if not settings.telegram_token:
        raise click.ClickException("set PU_TELEGRAM_TOKEN to the bot's token")
    sessions = make_session_factory(make_engine(settings.resolved_sqlalchemy_url))
    stop = threading.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, lambda *_: stop.set())
    service = Notifier(settings, sessions, poll_interval_s=poll_interval)
    service.start()
    stop.wait()
    service.stop()
