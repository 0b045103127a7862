"""ClickHouse out of reach: the console's pages that read it say so in the page with 503 (the
node's Data page, its CSV export and import, Try on the stored values), the unit's live logs
say so in their place, and the API answers 503 with its error body; never a 500. The store is
a ClickHouse URL on a port of this machine that nothing listens on."""

import json

import pytest
from fastapi import FastAPI

from control_plane.console.session import CSRF_FIELD, CSRF_HEADER
from control_plane.services.store import UNAVAILABLE
from pepeunit_core.db.enums import UnitNodeType
from pepeunit_core.db.models import User
from pepeunit_core.settings import Settings
from tests.console.console_client import PASSWORD, PREFIX, ConsoleClient, register
from tests.console.test_node_pages import DRAFT
from tests.control_plane.conftest import make_settings
from tests.flows.support import pipeline_config
from tests.pepeunit_core.builders import add_node, add_registry, add_repo, add_unit
from tests.services.ports import free_loopback_port

SHOWN = "The data store (ClickHouse) cannot be reached now"
"""How the pages show `UNAVAILABLE` (HTML-escaped where it has no quote)."""


@pytest.fixture
def settings(database_url: str) -> Settings:
    unreachable = f"http://default:@127.0.0.1:{free_loopback_port()}/pepeunit"
    return make_settings(database_url, secure=False, clickhouse_database_url=unreachable)


@pytest.fixture
def made(console: ConsoleClient, app: FastAPI) -> dict[str, str]:
    """The signed-in Admin's unit and its Output node with an NRecords pipeline."""
    owner = register(console, "admin")
    console.sign_in("admin")
    with app.state.context.session_factory() as session:
        user = session.get_one(User, owner)
        unit = add_unit(session, user, add_repo(session, user, add_registry(session, user)))
        node = add_node(session, unit, UnitNodeType.OUTPUT, "temperature/pepeunit")
        node.is_data_pipe_active = True
        policy = {"policy_type": "NRecords", "n_records_count": 10}
        node.data_pipe_yml = json.dumps(pipeline_config(policy).model_dump(mode="json"))
        session.commit()
        return {"unit": str(unit.uuid), "node": str(node.uuid)}


def test_the_data_page_says_the_store_is_out_of_reach(console: ConsoleClient, made: dict):
    assert UNAVAILABLE.startswith(SHOWN)
    page = console.get(f"{PREFIX}/nodes/{made['node']}/data")
    assert page.status_code == 503, page.text
    assert 'id="store-problem"' in page.text and SHOWN in page.text
    assert "Data of temperature/pepeunit" in page.text  # the page itself, with its links
    exported = console.get(f"{PREFIX}/nodes/{made['node']}/data/csv")
    assert exported.status_code == 503 and SHOWN in exported.text
    imported = console.post(
        f"{PREFIX}/nodes/{made['node']}/data/csv",
        data={CSRF_FIELD: console.form_token(f"{PREFIX}/nodes/{made['node']}/pipeline")},
        files={"data": ("rows.csv", b"state,create_datetime\n7,2026-01-01 00:00:00\n")},
    )
    assert imported.status_code == 503 and SHOWN in imported.text
    tried = console.post(
        f"{PREFIX}/nodes/{made['node']}/pipeline/try",
        data={"yaml": DRAFT, "source": "stored"},
        headers={"HX-Request": "true", CSRF_HEADER: console.csrf()},
    )
    assert tried.status_code == 503 and SHOWN in tried.text
    assert tried.headers["HX-Retarget"] == "#messages"


def test_the_live_logs_say_the_store_is_out_of_reach(console: ConsoleClient, made: dict):
    page = console.get(f"{PREFIX}/units/{made['unit']}")
    assert page.status_code == 200, page.text  # the unit page reads no logs itself
    with console.stream("GET", f"{PREFIX}/units/{made['unit']}/logs") as events:
        assert events.status_code == 200
        text = ""
        for line in events.iter_lines():
            text += line + "\n"
            if "logs-problem" in line:
                break
    assert "event: logs" in text and SHOWN in text


def test_the_api_answers_503(console: ConsoleClient, made: dict):
    token = console.post(
        f"{PREFIX}/api/v1/users/auth", json={"credentials": "admin", "password": PASSWORD}
    ).json()["token"]
    answer = console.get(
        f"{PREFIX}/api/v1/unit_nodes/get_data_pipe_data/",
        params={"uuid": made["node"], "type": "NRecords"},
        headers={"x-auth-token": token},
    )
    assert answer.status_code == 503, answer.text
    assert answer.json() == {"detail": f"503: 16: Store Unavailable: {UNAVAILABLE}"}
    document = console.get(f"{PREFIX}/api/v1/openapi.json").json()
    for path, method in (
        (f"{PREFIX}/api/v1/unit_nodes/get_data_pipe_data/", "get"),
        (f"{PREFIX}/api/v1/unit_nodes/set_data_pipe_data_csv", "post"),
        (f"{PREFIX}/api/v1/units/log_list/", "get"),
    ):
        assert "503" in document["paths"][path][method]["responses"], path
