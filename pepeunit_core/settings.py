"""One settings object for every process, from `PU_` environment variables.

Names follow the reference backend where one exists (`PU_DOMAIN`, `PU_SQLALCHEMY_DATABASE_URL`,
`PU_CLICKHOUSE_DATABASE_URL`, `PU_MQTT_HOST`, ...). Without database settings everything lives
under `PU_DATA_DIR`: a SQLite file and a chdb (embedded ClickHouse) directory.
"""

from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PU_", extra="ignore")

    domain: str = Field(
        default="localhost", description="Public domain or IP; the root of every MQTT topic."
    )
    data_dir: Path = Field(
        default=Path("pepeunit-data"),
        description="Where the embedded defaults keep their files (SQLite, chdb, flow logs).",
    )
    sqlalchemy_database_url: str | None = Field(
        default=None,
        description="SQL database, e.g. postgresql+psycopg://user@host/db (default: SQLite).",
    )
    clickhouse_database_url: str | None = Field(
        default=None,
        description="ClickHouse server URL (http://user:password@host:8123/db) or chdb:///path.",
    )

    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 1883
    mqtt_keepalive: int = 60
    mqtt_username: str = ""
    mqtt_password: str = ""
    mqtt_max_payload_size: int = Field(default=256, description="Largest MQTT payload in KB.")

    unit_log_expiration: int = Field(default=86400, description="Seconds a unit log row lives.")

    flow_client_id: str = Field(
        default="pepeunit-flow",
        description="MQTT client id prefix of the dataflow; with a persistent session the "
        "broker keeps unacknowledged messages for it across restarts.",
    )
    flow_shared_group: str = Field(
        default="pepeunit",
        description="MQTT shared-subscription group; several flow processes split the load.",
    )
    flow_process_id: int = Field(
        default=0, description="This flow process's index among the processes of the cluster."
    )
    flow_metrics_port: int = Field(default=9108, description="Prometheus metrics port; 0: off.")
    flow_batch_rows: int = Field(default=1000, description="Rows that trigger a storage write.")
    flow_flush_interval: float = Field(
        default=1.0, description="Longest time in seconds a row waits before it is written."
    )
    flow_config_poll_interval: float = Field(
        default=1.0, description="Seconds between checks for changed pipeline configs."
    )
    flow_clock_offset_ms: int = Field(
        default=0,
        description="Added to the receive clock of the dataflow (for tests and replays).",
    )
    nrecords_cleanup_interval: int = Field(
        default=60, description="Seconds between removals of NRecords rows beyond N."
    )

    @cached_property
    def resolved_sqlalchemy_url(self) -> str:
        if self.sqlalchemy_database_url:
            return self.sqlalchemy_database_url
        return f"sqlite:///{(self.data_dir / 'pepeunit.sqlite').resolve()}"

    @cached_property
    def resolved_clickhouse_url(self) -> str:
        if self.clickhouse_database_url:
            return self.clickhouse_database_url
        return f"chdb://{(self.data_dir / 'clickhouse').resolve()}"

    @property
    def mqtt_max_payload_bytes(self) -> int:
        return self.mqtt_max_payload_size * 1024
