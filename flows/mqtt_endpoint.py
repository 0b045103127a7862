"""Where and as whom the dataflow's MQTT clients connect, and how such a client is made."""

import socket
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


@dataclass(frozen=True, slots=True)
class MqttEndpoint:
    host: str
    port: int
    keepalive: int
    username: str
    password: str


def new_client(endpoint: MqttEndpoint, client_id: str, *, clean_session: bool) -> mqtt.Client:
    """An MQTT 3.1.1 paho client (callback API 2) logged in as `endpoint` says, with TCP_NODELAY,
    reconnecting after 1 s, then up to every 10 s; call `connect(client, endpoint)` to start
    it."""
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=clean_session,
        protocol=mqtt.MQTTv311,
    )
    if endpoint.username:
        client.username_pw_set(endpoint.username, endpoint.password)
    client.reconnect_delay_set(min_delay=1, max_delay=10)
    client.on_socket_open = _disable_nagle
    return client


def _disable_nagle(_client: mqtt.Client, _userdata: object, sock: object) -> None:
    """paho leaves Nagle's algorithm on: a small PUBLISH or PUBACK written while an earlier one
    is unacknowledged waits for the broker's delayed ACK (up to ~40 ms on Linux)."""
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def connect(client: mqtt.Client, endpoint: MqttEndpoint) -> None:
    """Connects in the background (paho's network thread), retrying until the broker answers."""
    client.connect_async(endpoint.host, endpoint.port, keepalive=endpoint.keepalive)
    client.loop_start()
