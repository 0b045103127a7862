"""`pepeunit bot`: the Telegram bot."""

import asyncio
import logging
import signal

import click


@click.command()
def bot() -> None:
    """Run the Telegram bot (PU_TELEGRAM_TOKEN) until Ctrl-C or SIGTERM.

    PU_TELEGRAM_BOT_MODE=polling (the default) asks Telegram for updates; webhook registers
    https://PU_DOMAIN/pepeunit/api/v1/bot with Telegram instead, checks every minute that it is
    still there, and leaves the updates to `pepeunit api`. Reads the same PU_ settings as the
    API (database, ClickHouse, MQTT broker for commands).
    """
    # Imported here, as the other commands do: the models take a while to load.
    from control_plane.bot import BotServices, PollingBot, keep_webhook_registered
    from control_plane.services.broker.publisher import MqttPublisher
    from pepeunit_core.crypto import Cipher
    from pepeunit_core.db.engine import make_engine, make_session_factory
    from pepeunit_core.settings import Settings

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = Settings()
    if not settings.telegram_token:
        raise click.UsageError("PU_TELEGRAM_TOKEN is not set")
    engine = make_engine(settings.resolved_sqlalchemy_url)
    publisher = MqttPublisher(settings, client_id_prefix="pepeunit-bot")
    services = BotServices(
        settings,
        make_session_factory(engine),
        Cipher(settings.resolved_encrypt_key),
        publisher,
    )

    async def webhook() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for received in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(received, stop.set)
        await keep_webhook_registered(services, stop)

    publisher.start()
    try:
        if settings.telegram_bot_mode == "webhook":
            click.echo("keeping the Telegram webhook registered; updates go to the API", err=True)
            asyncio.run(webhook())
        else:
            asyncio.run(PollingBot(services).run())
    finally:
        publisher.stop()
        engine.dispose()
