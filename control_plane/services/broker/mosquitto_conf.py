"""The `mosquitto.conf` that fits Pepeunit (`pepeunit broker mosquitto-conf`).

Measured on Mosquitto 2.0.11: units log in with username = token and an empty password, which
`password_file` and dynamic security refuse, and `allow_anonymous false` without either refuses
every client; so clients are let in without a password and the ACL file (keyed on the username,
see `mosquitto_acl`) decides what each may do. What protects the platform's own sessions there
is that nobody else can name them: the dataflow's client ids and shared-subscription group are
derived from the platform's broker login (`Settings.resolved_flow_client_id`,
`..._shared_group`).
"""

from dataclasses import dataclass
from pathlib import Path

_UNSAFE_CHARACTERS = frozenset("\0\r\n")


class MosquittoConfError(ValueError):
    """A value that would break the configuration's line structure."""


@dataclass(frozen=True)
class MosquittoConf:
    acl_file: Path
    listen_host: str = "0.0.0.0"
    listen_port: int = 1883
    pid_file: Path | None = None
    persistence_location: Path | None = None
    log_dest: str | None = None
    """e.g. `file /var/log/mosquitto/mosquitto.log`; unset: Mosquitto's default."""


def render_mosquitto_conf(conf: MosquittoConf) -> str:
    for value in (conf.acl_file, conf.listen_host, conf.pid_file, conf.persistence_location,
                  conf.log_dest):  # fmt: skip
        if value is not None and set(str(value)) & _UNSAFE_CHARACTERS:
            raise MosquittoConfError(f"{str(value)!r} holds a line break or a NUL character")
    if not 0 < conf.listen_port < 65_536:
        raise MosquittoConfError(f"port {conf.listen_port} is not between 1 and 65535")
    lines = [
        "# Mosquitto 2.0 configuration for Pepeunit (`pepeunit broker mosquitto-conf`).",
        "#",
        "# Units log in with username = their token and an empty password; Mosquitto's",
        "# password_file and dynamic security refuse empty passwords, and `allow_anonymous",
        "# false` without them refuses everyone. So clients connect without a password and",
        "# the ACL file (`pepeunit broker acl`, kept in step by the API) decides everything: a",
        "# client without a username, or with one the ACL does not list, may neither publish",
        "# nor receive anything.",
        "#",
        "# The dataflow's persistent sessions and its shared-subscription group are named after",
        "# the platform's login (`pepeunit-flow-<secret>-p<N>`, `$share/pepeunit-<secret>/`),",
        "# so no other client can take a session over or join the group: leave PU_FLOW_CLIENT_ID",
        "# and PU_FLOW_SHARED_GROUP unset, or set them to values nobody can guess.",
        "per_listener_settings false",
        f"listener {conf.listen_port} {conf.listen_host}",
        "allow_anonymous true",
        f"acl_file {conf.acl_file}",
    ]
    if conf.pid_file is not None:
        lines.append(f"pid_file {conf.pid_file}")
    lines += [
        "",
        "# Keep what a disconnected dataflow has not acknowledged, however much it is.",
        "persistence true",
    ]
    if conf.persistence_location is not None:
        lines.append(f"persistence_location {str(conf.persistence_location).rstrip('/')}/")
    lines += [
        "max_queued_messages 0",
        "max_inflight_messages 1000",
        "set_tcp_nodelay true",
        "",
        "# Logs: a unit's username is its token, a credential that lets anyone act as the unit,",
        "# and Mosquitto writes the username of every connecting client in its connection",
        "# messages (and everything, client ids included, at log_type debug/all). Keep",
        "# connection messages off and debug logging out of production; treat the log as",
        "# secret if you turn them on.",
        "connection_messages false",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "log_type information",
    ]
    if conf.log_dest is not None:
        lines.append(f"log_dest {conf.log_dest}")
    return "\n".join(lines) + "\n"
