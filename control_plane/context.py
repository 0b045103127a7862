"""What the control plane runs with: settings, database, secrets, caches, the MQTT publisher.

One per app (the API keeps it in `app.state.context` and hands it to its routes as a
dependency); the schedules and the Telegram bot are built from it, without HTTP.
"""

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from control_plane.security import PasswordHashing
from control_plane.services.broker.live_events import LiveEventHub
from control_plane.services.broker.publisher import BrokerPublisher
from control_plane.services.metrics import CachedMetrics
from pepeunit_core.clickhouse.pool import ClickHousePool
from pepeunit_core.crypto import Cipher
from pepeunit_core.settings import Settings


@dataclass(frozen=True)
class ControlPlaneContext:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    cipher: Cipher
    passwords: PasswordHashing
    metrics: CachedMetrics
    publisher: BrokerPublisher
    """Commands to units and values for input nodes go out through it."""
    clickhouse: ClickHousePool
    """The process's ClickHouse clients; a request borrows one."""
    live_events: LiveEventHub
    """The dataflow's live events, for GraphQL subscriptions."""
