"""`pepeunit up` with a Telegram token runs the bot, which answers a chat through the fake Bot
API server, and the alert notifier (whose delivery tests/flows/test_flow_alerts.py covers);
both stop with the platform."""

from pathlib import Path

from tests.e2e.platform import running_platform
from tests.services.ports import free_loopback_port
from tests.services.telegram import TOKEN, running_fake_telegram

CHAT = 777


def test_up_runs_the_bot_and_the_notifier(tmp_path: Path):
    with running_fake_telegram() as telegram:
        environment = {
            "PU_MQTT_PORT": str(free_loopback_port()),
            "PU_TELEGRAM_TOKEN": TOKEN,
            "PU_TELEGRAM_API_URL": telegram.url,
        }
        with running_platform(tmp_path / "data", **environment) as up:
            telegram.send_text(CHAT, "/info")
            (answer,) = telegram.wait_for_messages(CHAT, 1, timeout_s=60)
            assert answer.text and "unit" in answer.text.lower(), answer.text
            log = up.log()
    assert "alert notifier started" in log
    assert "Telegram bot polling" in log
