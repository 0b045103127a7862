"""The broker authorisation matrix: two units A and B (each with inputs and outputs under a
`/pepeunit` template and a plain one), the agents that try them, the topics they try, and what
docs/compatibility.md#least-privilege-broker-access says should happen — written out here topic by
topic, independently of the code under test."""

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID, uuid4

from sqlalchemy.orm import Session

from control_plane.security import make_backend_token, make_unit_token, make_user_token
from pepeunit_core.db.enums import UnitNodeType
from pepeunit_core.db.models import Repo, Unit, User
from tests.pepeunit_core.builders import (
    add_node,
    add_registry,
    add_repo,
    add_unit,
    add_user,
    short_name,
)

DOMAIN = "pepeunit.test"
SECRET_KEY = base64.b64encode(b"k" * 32).decode()
ENCRYPT_KEY = base64.b64encode(b"c" * 32).decode()
OTHER_SECRET_KEY = base64.b64encode(b"x" * 32).decode()

COMMANDS = ("update", "env_update", "schema_update", "log_sync")
REPORTS = ("state", "log")

PUBLISH = "publish"
SUBSCRIBE = "subscribe"
ACTIONS = (PUBLISH, SUBSCRIBE)


@dataclass(frozen=True)
class MatrixUnit:
    uuid: UUID
    token: str
    input_pepeunit: UUID
    """Template `set/pepeunit`: topic `{D}/{node}/pepeunit`."""
    input_plain: UUID
    """Template `raw_in`: topic `{D}/{node}`."""
    output_pepeunit: UUID
    """Template `temp/pepeunit`."""
    output_plain: UUID
    """Template `raw_out`."""

    @property
    def publishable(self) -> frozenset[str]:
        return frozenset(
            {
                f"{DOMAIN}/{self.output_pepeunit}/pepeunit",
                f"{DOMAIN}/{self.output_plain}",
                f"{DOMAIN}/output_base_topic/{self.uuid}/state/pepeunit",
                f"{DOMAIN}/output_base_topic/{self.uuid}/log/pepeunit",
            }
        )

    @property
    def subscribable(self) -> frozenset[str]:
        return frozenset(
            {
                f"{DOMAIN}/{self.input_pepeunit}/pepeunit",
                f"{DOMAIN}/{self.input_plain}",
                *(f"{DOMAIN}/input_base_topic/{self.uuid}/{name}/pepeunit" for name in COMMANDS),
            }
        )

    @property
    def own_input_topic(self) -> str:
        return f"{DOMAIN}/{self.input_pepeunit}/pepeunit"

    @property
    def own_output_topic(self) -> str:
        return f"{DOMAIN}/{self.output_pepeunit}/pepeunit"


def add_matrix_unit(
    session: Session, user: User, repo: Repo, unit_uuid: UUID | None = None
) -> MatrixUnit:
    unit = Unit(
        uuid=unit_uuid or uuid4(),
        name=short_name("unit"),
        creator_uuid=user.uuid,
        repo_uuid=repo.uuid,
    )
    session.add(unit)
    session.flush()
    nodes = [
        add_node(session, unit, UnitNodeType.INPUT, "set/pepeunit"),
        add_node(session, unit, UnitNodeType.INPUT, "raw_in"),
        add_node(session, unit, UnitNodeType.OUTPUT, "temp/pepeunit"),
        add_node(session, unit, UnitNodeType.OUTPUT, "raw_out"),
    ]
    token = make_unit_token(unit.uuid, SECRET_KEY)
    return MatrixUnit(unit.uuid, token, *(node.uuid for node in nodes))


@dataclass(frozen=True)
class Matrix:
    a: MatrixUnit
    b: MatrixUnit
    usernames: dict[str, str | None]
    """MQTT username (the token) of each agent; None: no username at all."""
    user: User
    repo: Repo

    @property
    def units(self) -> dict[str, MatrixUnit]:
        return {"A": self.a, "B": self.b}


AGENTS = (
    "A",
    "B",
    "anonymous",
    "garbage token",
    "unit token signed with another key",
    "user token",
    "deleted unit",
    "backend of another domain",
    "backend",
)
CONNECTING_AGENTS = ("A", "B", "backend")
"""Those the embedded broker lets connect; Mosquitto lets everyone connect, with no rights."""


def build_matrix(session: Session) -> Matrix:
    """Units A and B of one user, plus a unit that existed once; commits."""
    user = add_user(session)
    repo = add_repo(session, user, add_registry(session, user))
    a = add_matrix_unit(session, user, repo)
    b = add_matrix_unit(session, user, repo)
    deleted = add_unit(session, user, repo)
    deleted_token = make_unit_token(deleted.uuid, SECRET_KEY)
    session.delete(deleted)
    session.commit()
    now = datetime.now(UTC)
    usernames: dict[str, str | None] = {
        "A": a.token,
        "B": b.token,
        "anonymous": None,
        "garbage token": "not-a-token",
        "unit token signed with another key": make_unit_token(a.uuid, OTHER_SECRET_KEY),
        "user token": make_user_token(user.uuid, SECRET_KEY, 3600, now),
        "deleted unit": deleted_token,
        "backend of another domain": make_backend_token("other.test", SECRET_KEY),
        "backend": make_backend_token(DOMAIN, SECRET_KEY),
    }
    return Matrix(a, b, usernames, user, repo)


def unit_probe_topics(unit: MatrixUnit) -> list[str]:
    """Every topic of one unit a device might try, right and wrong."""
    d, u = DOMAIN, unit.uuid
    return [
        f"{d}/{unit.output_pepeunit}/pepeunit",
        f"{d}/{unit.output_plain}",
        f"{d}/{unit.input_pepeunit}/pepeunit",
        f"{d}/{unit.input_plain}",
        # the suffix rule the other way round
        f"{d}/{unit.output_pepeunit}",
        f"{d}/{unit.output_plain}/pepeunit",
        f"{d}/{unit.input_pepeunit}",
        f"{d}/{unit.input_plain}/pepeunit",
        *(f"{d}/output_base_topic/{u}/{name}/pepeunit" for name in REPORTS),
        *(f"{d}/input_base_topic/{u}/{name}/pepeunit" for name in COMMANDS),
        f"{d}/output_base_topic/{u}/update/pepeunit",
        f"{d}/input_base_topic/{u}/state/pepeunit",
        f"{d}/output_base_topic/{u}/other/pepeunit",
        f"{d}/input_base_topic/{u}/other/pepeunit",
    ]


def probe_topics(matrix: Matrix) -> list[str]:
    """Concrete topic names (publishable): both units' topics and a few strangers."""
    return [
        *unit_probe_topics(matrix.a),
        *unit_probe_topics(matrix.b),
        f"other.test/{matrix.a.output_pepeunit}/pepeunit",
        f"other.test/{matrix.a.input_pepeunit}/pepeunit",
        f"{DOMAIN}/{uuid4()}/pepeunit",
        f"{DOMAIN}/output_base_topic/{uuid4()}/state/pepeunit",
        # the dataflow's live events, for the API only (docs/graphql.md#subscriptions)
        f"{DOMAIN}/pepeunit_events/node_values",
        f"{DOMAIN}/pepeunit_events/unit_states",
        f"{DOMAIN}/pepeunit_events/unit_logs",
    ]


def wildcard_filters(matrix: Matrix) -> list[str]:
    """Subscription filters that are not plain topics: wildcards, `$SYS`, shared groups."""
    d, a = DOMAIN, matrix.a
    return [
        "#",
        f"{d}/#",
        f"{d}/+",
        f"{d}/+/pepeunit",
        f"{d}/input_base_topic/{a.uuid}/+/pepeunit",
        f"{d}/input_base_topic/{a.uuid}/#",
        f"{d}/{a.input_pepeunit}/+",
        f"+/{a.input_pepeunit}/pepeunit",
        f"{d}/pepeunit_events/+",
        f"{d}/pepeunit_events/#",
        "$SYS/#",
        f"$share/pepeunit/{d}/+/pepeunit",
        f"$share/pepeunit/{a.own_input_topic}",
    ]


def subscription_filters(matrix: Matrix) -> list[str]:
    return [*probe_topics(matrix), *wildcard_filters(matrix)]


def expected_allowed(matrix: Matrix, agent: str, topic: str, action: str) -> bool:
    """docs/compatibility.md#least-privilege-broker-access, spelled out."""
    if agent == "backend":
        return True
    unit = matrix.units.get(agent)
    if unit is None:
        return False
    return topic in (unit.publishable if action == PUBLISH else unit.subscribable)


def filter_matches(topic_filter: str, topic: str) -> bool:
    """MQTT matching of a concrete topic name by a filter (`$share/{group}/` stripped)."""
    if topic_filter.startswith("$share/"):
        topic_filter = topic_filter.split("/", 2)[2]
    if topic.startswith("$") != topic_filter.startswith("$"):
        return False
    filter_levels, topic_levels = topic_filter.split("/"), topic.split("/")
    for index, level in enumerate(filter_levels):
        if level == "#":
            return True
        if index >= len(topic_levels) or level not in ("+", topic_levels[index]):
            return False
    return len(filter_levels) == len(topic_levels)
