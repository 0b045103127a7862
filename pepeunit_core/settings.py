"""One settings object for every process, from `PU_` environment variables.

Names follow the reference backend where one exists (`PU_DOMAIN`, `PU_SQLALCHEMY_DATABASE_URL`,
`PU_CLICKHOUSE_DATABASE_URL`, `PU_MQTT_HOST`, ...). Without database settings everything lives
under `PU_DATA_DIR`: a SQLite file and a chdb (embedded ClickHouse) directory.
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _reference_mode_name(value: object) -> object:
    """The reference spells polling `pooling`; its .env files keep working."""
    return "polling" if value == "pooling" else value


PLATFORM_CLIENT_ID_PREFIX = "pepeunit-"
"""MQTT client ids starting so are the platform's own: brokers it controls refuse them to
anyone but the Backend."""

TelegramBotMode = Annotated[Literal["polling", "webhook"], BeforeValidator(_reference_mode_name)]


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
    clickhouse_pool_size: int = Field(
        default=4,
        ge=1,
        description="ClickHouse clients a process keeps open and shares (concurrent reads).",
    )

    secret_key: str | None = Field(
        default=None,
        description="HS256 key of every JWT (32 bytes, base64). Default: generated once and "
        "kept in PU_DATA_DIR/secrets.json.",
    )
    encrypt_key: str | None = Field(
        default=None,
        description="AES-256-GCM key of secrets at rest (32 bytes, base64). Default: generated "
        "once and kept in PU_DATA_DIR/secrets.json.",
    )
    app_prefix: str = "/pepeunit"
    api_v1_prefix: str = "/api/v1"
    secure: bool = Field(default=True, description="Links use https (and wss) when true.")
    auth_token_expiration: int = Field(default=2678400, description="User JWT lifetime in s.")
    max_pagination_size: int = 500
    max_csv_import_size: int = Field(
        default=32, ge=1, description="Largest DataPipe CSV import in MB."
    )
    max_user_import_size: int = Field(
        default=256, ge=1, description="Largest per-user import archive in MB."
    )
    max_cipher_length: int = Field(default=1_000_000, description="Largest encrypted plaintext.")
    save_repo_path: Path | None = Field(
        default=None, description="Where registry clones live (default: PU_DATA_DIR/repos)."
    )
    max_external_repo_size: int = Field(default=50, description="Largest clone in MB.")
    min_interval_sync_repository: int = Field(default=10, description="Seconds between syncs.")
    registry_allowed_url_schemes: tuple[str, ...] = ("https",)
    registry_file_roots: tuple[Path, ...] = Field(
        default=(),
        description="Directories under which file:// registries may live (JSON list; empty: "
        "none). PU_DATA_DIR, the clones and the platform's own code are refused even there.",
    )
    registry_allow_private_addresses: bool = Field(
        default=False,
        description="Let registry URLs reach loopback, link-local and private addresses.",
    )
    registry_git_timeout: float = Field(
        default=120, gt=0, description="Seconds one git transfer may take before it is killed."
    )
    registry_git_connect_timeout: float = Field(
        default=10, gt=0, description="Seconds to connect to a registry's host."
    )
    registry_max_git_transfers: int = Field(
        default=4,
        ge=1,
        le=16,
        description="Git transfers (clone, fetch, credential check) one API process runs at "
        "once; more are refused with 503.",
    )
    registry_max_git_transfers_per_user: int = Field(
        default=1, ge=1, description="Git transfers one user may run at once; more get 429."
    )
    schedules_enabled: bool = Field(
        default=True,
        description="Run the periodic registry sync and firmware update (in one API process "
        "among all that share the SQL database).",
    )
    registry_sync_interval: float = Field(
        default=3600, gt=0, description="Seconds between scheduled syncs of every registry."
    )
    firmware_update_interval: float = Field(
        default=3600,
        gt=0,
        description="Seconds between scheduled firmware updates of auto-updating units; they "
        "run half an interval apart from the syncs.",
    )
    rollout_step_interval: float = Field(
        default=15,
        gt=0,
        description="Seconds between steps of the running firmware rollouts (sending a stage's "
        "updates, checking its gates).",
    )
    rollout_metrics_dir: Path | None = Field(
        default=None,
        description="Where the schedule process rewrites pepeunit_rollouts.prom, the rollouts' "
        "Prometheus metrics, after each rollout step (unset: not written; "
        "docs/operations.md#rollout-metrics).",
    )
    schedules_poll_interval: float = Field(
        default=5,
        gt=0,
        description="Seconds between a waiting API process's attempts to take the schedules "
        "over, and between the runner's checks that it still holds them.",
    )
    graphql_introspection: bool = Field(
        default=True,
        description="Answer GraphQL introspection (`__schema`, `__type`); turn off in "
        "production if clients need no schema discovery.",
    )
    cors_origins: tuple[str, ...] = Field(
        default=(),
        description='Browser origins (JSON list, e.g. ["https://app.example"]) whose pages '
        "may call the API and GraphQL, and open GraphQL WebSockets; empty: none but the API's "
        "own.",
    )
    backup_interval: float = Field(
        default=0,
        ge=0,
        description="Seconds between scheduled backups, run by the schedules' process (0: none; "
        "docs/operations.md#scheduled-backups).",
    )
    backup_dir: Path | None = Field(
        default=None, description="Where scheduled backups go (default: PU_DATA_DIR/backups)."
    )
    backup_keep: int = Field(
        default=7, ge=1, description="Scheduled backups kept; older ones are deleted."
    )
    state_send_interval: int = Field(default=60, description="Device state period in s.")
    ff_datapipe_default_last_value_enable: bool = True

    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 1883
    mqtt_keepalive: int = 60
    mqtt_username: str = ""
    mqtt_password: str = ""
    mqtt_max_payload_size: int = Field(default=256, description="Largest MQTT payload in KB.")

    broker_access_cache_seconds: float = Field(
        default=5.0,
        description="How long the broker hooks reuse a unit's allowed topics before asking the "
        "SQL database again (changes made in the same process apply at once; 0: no reuse).",
    )
    mosquitto_acl_file: Path | None = Field(
        default=None,
        description="Mosquitto ACL file kept in step with units and nodes (unset: none).",
    )
    mosquitto_pid_file: Path | None = Field(
        default=None, description="Pid file of the Mosquitto to SIGHUP when the ACL file changes."
    )
    mosquitto_reload_command: str | None = Field(
        default=None,
        description="Command that makes Mosquitto reread its ACL file (e.g. `systemctl reload "
        "mosquitto`); run instead of signalling PU_MOSQUITTO_PID_FILE.",
    )

    unit_log_expiration: int = Field(default=86400, description="Seconds a unit log row lives.")
    metrics_cache_seconds: float = Field(
        default=60, description="How long GET /metrics/ reuses its counts (0: count each time)."
    )

    grafana_url: str | None = Field(
        default=None,
        description="Grafana's base URL, e.g. http://grafana:3000, for `pepeunit grafana "
        "generate --push` and POST /grafana/sync_dashboard.",
    )
    grafana_token: str | None = Field(
        default=None,
        description="A Grafana service account token (Editor) for --push and for "
        "POST /grafana/sync_dashboard.",
    )
    grafana_limit_unit_node_per_one_panel: int = Field(
        default=10, ge=1, description="Most unit nodes one dashboard panel shows."
    )

    telegram_token: str | None = Field(
        default=None, description="The Telegram bot's token (from @BotFather); unset: no bot."
    )
    telegram_bot_link: str | None = Field(
        default=None,
        description="The bot's link, e.g. https://t.me/pepeunit_bot; verification links (GET "
        "/users/generate_verification_link/) point there, and need it.",
    )
    telegram_bot_mode: TelegramBotMode = Field(
        default="polling",
        description="polling: `pepeunit bot` asks Telegram for updates; webhook: Telegram posts "
        "them to POST {PU_APP_PREFIX}{PU_API_V1_PREFIX}/bot and `pepeunit bot` keeps the "
        "webhook registered. The reference's `pooling` means polling.",
    )
    telegram_api_url: str = Field(
        default="https://api.telegram.org", description="The Telegram Bot API server."
    )
    telegram_items_per_page: int = Field(
        default=7, ge=1, le=50, description="Units or log entries per page of the bot's lists."
    )

    flow_client_id: str | None = Field(
        default=None,
        description="MQTT client id prefix of the dataflow; with a persistent session the "
        "broker keeps unacknowledged messages for it across restarts. Default: "
        "`pepeunit-flow-` and a value derived from the platform's broker login (the Backend "
        "token) or the instance secret key, so no other client can guess it and take the "
        "flow's session over.",
    )
    flow_shared_group: str | None = Field(
        default=None,
        pattern=r"^[^/+#\x00]*$",
        description="MQTT shared-subscription group; several flow processes split the load. "
        "Default: derived like PU_FLOW_CLIENT_ID's (a client that joins the group takes its "
        "share of the messages); empty: no group.",
    )
    flow_route_max_unconfirmed: int = Field(
        default=10_000,
        ge=1,
        le=65_534,
        description="Routed copies the intake may have sent without the broker's confirmation; "
        "beyond it routing waits, and the originals wait unacknowledged in the broker.",
    )
    flow_process_id: int = Field(
        default=0, description="This flow process's index among the processes of the cluster."
    )
    flow_metrics_port: int = Field(default=9108, description="Prometheus metrics port; 0: off.")
    flow_metrics_host: str = Field(
        default="127.0.0.1", description="Address the Prometheus metrics server listens on."
    )
    flow_batch_rows: int = Field(
        # An INSERT into chdb costs about as much as 2 000 of its rows (bench/RESULTS.md)
        default=10_000,
        description="Rows that trigger a storage write.",
    )
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
        return f"sqlite:///{self.default_sqlite_path.resolve()}"

    @property
    def default_sqlite_path(self) -> Path:
        """The SQLite database of the data dir, used unless PU_SQLALCHEMY_DATABASE_URL is set."""
        return self.data_dir / "pepeunit.sqlite"

    @cached_property
    def resolved_clickhouse_url(self) -> str:
        if self.clickhouse_database_url:
            return self.clickhouse_database_url
        return f"chdb://{(self.data_dir / 'clickhouse').resolve()}"

    @cached_property
    def resolved_secret_key(self) -> str:
        return self.secret_key or load_or_create_secrets(self.data_dir)["secret_key"]

    @cached_property
    def resolved_encrypt_key(self) -> str:
        return self.encrypt_key or load_or_create_secrets(self.data_dir)["encrypt_key"]

    @property
    def resolved_flow_client_id(self) -> str:
        if self.flow_client_id:
            return self.flow_client_id
        return f"{PLATFORM_CLIENT_ID_PREFIX}flow-{self._derived_secret('mqtt-flow-client-id')}"

    @property
    def resolved_flow_shared_group(self) -> str:
        if self.flow_shared_group is not None:
            return self.flow_shared_group
        return f"pepeunit-{self._derived_secret('mqtt-flow-shared-group')}"

    def _derived_secret(self, purpose: str) -> str:
        """96 bits only the platform can tell, the same in every process of a flow cluster:
        an HMAC of the platform's broker login (PU_MQTT_USERNAME, the Backend token, and
        PU_MQTT_PASSWORD), or of the secret key when there is no login."""
        if self.mqtt_username or self.mqtt_password:
            key = f"{self.mqtt_username}\0{self.mqtt_password}".encode()
        else:
            key = self.resolved_secret_key.encode()
        return hmac.new(key, purpose.encode(), hashlib.sha256).hexdigest()[:24]

    @cached_property
    def resolved_backup_dir(self) -> Path:
        return (self.backup_dir or self.data_dir / "backups").resolve()

    @cached_property
    def resolved_repo_path(self) -> Path:
        return (self.save_repo_path or self.data_dir / "repos").resolve()

    @property
    def mqtt_max_payload_bytes(self) -> int:
        return self.mqtt_max_payload_size * 1024


_SECRET_NAMES = ("secret_key", "encrypt_key")


def load_or_create_secrets(data_dir: Path) -> dict[str, str]:
    """The keys of an installation without configured ones: made once, then kept (0600).

    Processes sharing a data directory (the flow processes of a cluster, `pepeunit up`'s API
    and dataflow) may get here at the same moment: the file is written whole under a private
    name and hard-linked into place, which fails if it is there already, so every process
    either publishes its keys or reads complete ones another published, never a half-written
    file."""
    path = data_dir / "secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    data_dir.mkdir(parents=True, exist_ok=True)
    made = {name: base64.b64encode(secrets.token_bytes(32)).decode() for name in _SECRET_NAMES}
    draft = data_dir / f".secrets-{os.getpid()}-{secrets.token_hex(4)}.json"
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as file:
            json.dump(made, file)
            file.flush()
            os.fsync(file.fileno())
        os.link(draft, path)
    except FileExistsError:
        return json.loads(path.read_text())
    finally:
        draft.unlink(missing_ok=True)
    return made


def store_secrets(data_dir: Path, keys: dict[str, str]) -> None:
    """Replaces `data_dir/secrets.json` with `keys` (a restored instance's), whole or not at
    all, readable by its owner only."""
    data_dir.mkdir(parents=True, exist_ok=True)
    draft = data_dir / f".secrets-{os.getpid()}-{secrets.token_hex(4)}.json"
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as file:
            json.dump({name: keys[name] for name in _SECRET_NAMES}, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(draft, data_dir / "secrets.json")
    finally:
        draft.unlink(missing_ok=True)
