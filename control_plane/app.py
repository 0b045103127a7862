"""The control plane's FastAPI application."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from argon2 import PasswordHasher
from fastapi import FastAPI

from control_plane.api.cors import install_cors
from control_plane.api.docs import install_docs
from control_plane.api.error_responses import install_error_responses
from control_plane.api.errors import install_error_handlers
from control_plane.api.routes import api_router, make_info_router
from control_plane.console import install_console
from control_plane.context import ControlPlaneContext
from control_plane.graphql import install_graphql
from control_plane.schedules.api_schedule import make_api_scheduler
from control_plane.security import PasswordHashing
from control_plane.services.broker.live_events import LiveEventHub
from control_plane.services.broker.publisher import BrokerPublisher, MqttPublisher
from control_plane.services.metrics import CachedMetrics
from pepeunit_core.clickhouse.pool import shared_clickhouse_pool
from pepeunit_core.crypto import Cipher
from pepeunit_core.db.engine import make_engine, make_session_factory
from pepeunit_core.settings import Settings


def create_app(
    settings: Settings,
    password_hasher: PasswordHasher | None = None,
    publisher: BrokerPublisher | None = None,
) -> FastAPI:
    """The API on `settings`' database; it expects the schema to be migrated already.

    `password_hasher` sets argon2's cost (default: argon2-cffi's RFC 9106 low-memory profile).
    `publisher` sends to the MQTT broker (default: a client of `PU_MQTT_HOST`, connected while
    the app runs).
    """
    engine = make_engine(settings.resolved_sqlalchemy_url)
    cipher = Cipher(settings.resolved_encrypt_key)
    own_publisher: MqttPublisher | None = None
    if publisher is None:
        publisher = own_publisher = MqttPublisher(settings)
    context = ControlPlaneContext(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        cipher=cipher,
        passwords=PasswordHashing(cipher, password_hasher),
        metrics=CachedMetrics(settings.metrics_cache_seconds),
        publisher=publisher,
        clickhouse=shared_clickhouse_pool(
            settings.resolved_clickhouse_url, settings.clickhouse_pool_size
        ),
        live_events=LiveEventHub(settings),
    )

    @asynccontextmanager
    async def lifespan(running_app: FastAPI) -> AsyncIterator[None]:
        if own_publisher is not None:
            own_publisher.start()
        scheduler = make_api_scheduler(context) if settings.schedules_enabled else None
        running_app.state.scheduler = scheduler
        if scheduler is not None:
            scheduler.start()
        try:
            yield
        finally:
            if scheduler is not None:
                await asyncio.to_thread(scheduler.stop)
            if own_publisher is not None:
                own_publisher.stop()
            context.live_events.stop()
            engine.dispose()

    api_prefix = f"{settings.app_prefix}{settings.api_v1_prefix}"
    app = FastAPI(
        title="Pepeunit",
        openapi_url=f"{api_prefix}/openapi.json",
        docs_url=None,  # served from local assets by install_docs
        redoc_url=None,
        # Devices cannot follow redirects: a path with a slash more or less is a 404.
        redirect_slashes=False,
        lifespan=lifespan,
    )
    app.state.context = context
    install_error_handlers(app)
    app.include_router(make_info_router(settings.app_prefix))
    app.include_router(api_router, prefix=api_prefix)
    install_error_responses(app)
    install_docs(app, settings.app_prefix, f"{api_prefix}/openapi.json")
    install_console(app, settings.app_prefix)
    install_graphql(app, settings)
    install_cors(app, settings)
    return app


def create_app_from_environment() -> FastAPI:
    """Factory for uvicorn workers: settings from the `PU_` environment."""
    return create_app(Settings())
