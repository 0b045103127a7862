"""The instance description served at `GET /pepeunit`: what 1.x's frontend reads there (its
links and feature flags), with our values."""

from pydantic import BaseModel, Field


class FeatureFlags(BaseModel):
    """1.x's `PU_FF_*` flags, as this instance has them."""

    pu_ff_telegram_bot_enable: bool = Field(description="A Telegram bot is configured.")
    pu_ff_grafana_integration_enable: bool = Field(description="A Grafana is configured.")
    pu_ff_datapipe_enable: bool = Field(description="Pipelines run (always, here).")
    pu_ff_datapipe_default_last_value_enable: bool = Field(
        description="New nodes get the default LastValue pipeline."
    )
    pu_ff_prometheus_enable: bool = Field(
        description="1.x's `/pepeunit/metrics`; here only the dataflow serves Prometheus metrics."
    )


class InstanceInfo(BaseModel):
    name: str
    version: str
    description: str
    license: str | None
    authors: list[str]
    swagger: str
    """Absolute link to the interactive API documentation."""
    graphql: str
    """Absolute link to the GraphQL API (HTTP; its WebSocket is the same path on ws/wss)."""
    grafana: str | None
    """Grafana's base URL (PU_GRAFANA_URL), when one is configured."""
    telegram_bot: str | None
    """The bot's link (PU_TELEGRAM_BOT_LINK), when one is configured."""
    feature_flags: FeatureFlags
