"""Issue 11, finding 10: the flow's Prometheus metrics server listened on every interface; it
listens on loopback unless PU_FLOW_METRICS_HOST says otherwise."""

import urllib.request

from prometheus_client import CollectorRegistry

from flows.metrics import FlowMetrics
from flows.runner import start_metrics_server
from pepeunit_core.settings import Settings
from tests.services.ports import free_loopback_port


def test_the_metrics_server_listens_on_loopback_by_default(tmp_path):
    registry = CollectorRegistry()
    FlowMetrics(registry)
    port = free_loopback_port()
    served = start_metrics_server(Settings(data_dir=tmp_path, flow_metrics_port=port), registry)
    assert served is not None
    server, thread = served
    try:
        assert server.server_address[:2] == ("127.0.0.1", port)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            assert b"pepeunit_flow_mqtt_sessions_lost" in response.read()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_no_metrics_server_on_port_zero(tmp_path):
    settings = Settings(data_dir=tmp_path, flow_metrics_port=0)
    assert start_metrics_server(settings, CollectorRegistry()) is None
