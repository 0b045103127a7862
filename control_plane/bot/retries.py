"""Telegram calls that Telegram asks to repeat are repeated: after the `retry_after` of a 429
(flood control), or shortly after a 5xx or a network error, a few times. getUpdates is left to
the polling loop, which has its own backoff."""

import asyncio
import logging
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import Response

logger = logging.getLogger("pepeunit.bot")


class RetryRequests(BaseRequestMiddleware):
    def __init__(
        self, attempts: int = 4, longest_wait_s: float = 30.0, outage_wait_s: float = 1.0
    ) -> None:
        self._attempts = attempts
        self._longest_wait_s = longest_wait_s
        self._outage_wait_s = outage_wait_s

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[Any],
        bot: Bot,
        method: TelegramMethod[Any],
    ) -> Response[Any]:
        if isinstance(method, GetUpdates):
            return await make_request(bot, method)
        for attempt in range(1, self._attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                wait = float(error.retry_after)
                if attempt == self._attempts or wait > self._longest_wait_s:
                    raise
            except (TelegramServerError, TelegramNetworkError):
                if attempt == self._attempts:
                    raise
                wait = self._outage_wait_s * attempt
            logger.info("Telegram asked to wait %.1f s before %s", wait, method.__api_method__)
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")
