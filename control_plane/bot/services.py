"""What the bot's handlers work with: the API's settings, database, cipher and MQTT publisher,
and a way to run the (blocking) services off the event loop in a session of their own."""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from control_plane.context import ControlPlaneContext
from control_plane.services.broker.publisher import BrokerPublisher
from pepeunit_core.crypto import Cipher
from pepeunit_core.settings import Settings

T = TypeVar("T")


@dataclass(frozen=True)
class BotServices:
    settings: Settings
    session_factory: sessionmaker[Session]
    cipher: Cipher
    publisher: BrokerPublisher

    @classmethod
    def of_api(cls, context: ControlPlaneContext) -> "BotServices":
        return cls(context.settings, context.session_factory, context.cipher, context.publisher)

    async def run(self, work: Callable[[Session], T]) -> T:
        """`work(session)` in a worker thread; the session is closed afterwards."""
        return await asyncio.to_thread(self._in_session, work)

    def _in_session(self, work: Callable[[Session], T]) -> T:
        with self.session_factory() as session:
            return work(session)
