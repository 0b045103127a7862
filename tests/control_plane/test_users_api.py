"""`/users` over HTTP, on SQLite and PostgreSQL: who may call what, registration, tokens,
blocking, self-update, listing, and bad input (always a 4xx with a detail, never a 500)."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import httpx
import jwt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update

from control_plane.security import make_backend_token, make_unit_token, make_user_token
from control_plane.services.paging import MAX_OFFSET
from pepeunit_core.db.models import User

from .conftest import API, PASSWORD, SECRET_KEY, Actors, auth, login_token, register

AGENTS = ["anonymous", "alice", "bob", "admin", "unit"]

Call = Callable[[TestClient, Actors, dict[str, str]], httpx.Response]

# Each route with the agents that may call it (docs/compatibility.md#access-model) and its success
# status. The target user, where there is one, is alice.
ROUTES: dict[str, tuple[Call, set[str], int]] = {
    "create": (
        lambda c, a, h: c.post(
            f"{API}/users", json={"login": "newcomer", "password": PASSWORD}, headers=h
        ),
        {"anonymous"},
        201,
    ),
    "get_token": (
        lambda c, a, h: c.post(
            f"{API}/users/auth", json={"credentials": "alice", "password": PASSWORD}, headers=h
        ),
        {"anonymous"},
        200,
    ),
    "get": (
        lambda c, a, h: c.get(f"{API}/users/{a.alice_uuid}", headers=h),
        {"alice", "bob", "admin"},
        200,
    ),
    "list": (lambda c, a, h: c.get(f"{API}/users", headers=h), {"alice", "bob", "admin"}, 200),
    "update": (
        lambda c, a, h: c.patch(
            f"{API}/users/{a.alice_uuid}", json={"login": "alice-2"}, headers=h
        ),
        {"alice"},
        200,
    ),
    "block": (
        lambda c, a, h: c.patch(f"{API}/users/block/{a.alice_uuid}", headers=h),
        {"admin"},
        204,
    ),
    "unblock": (
        lambda c, a, h: c.patch(f"{API}/users/unblock/{a.alice_uuid}", headers=h),
        {"admin"},
        204,
    ),
}


@pytest.mark.parametrize("route", ROUTES)
def test_only_allowed_agents_pass(client: TestClient, actors: Actors, route: str):
    call, allowed, success = ROUTES[route]
    # Refused calls change nothing, so one instance serves every agent; allowed ones go last.
    for agent in sorted(AGENTS, key=lambda name: name in allowed):
        response = call(client, actors, actors.headers[agent])
        if agent in allowed:
            assert response.status_code == success, (agent, response.text)
        else:
            assert response.status_code == 403, (agent, response.text)
            assert response.json()["detail"].startswith("403: 1: No Access: "), agent


def test_first_user_is_admin_and_reads_show_no_secrets(client: TestClient):
    first, second = register(client, "first"), register(client, "second")
    assert (first["role"], second["role"]) == ("Admin", "User")
    assert first["status"] == second["status"] == "Unverified"
    assert set(first) == {
        "uuid",
        "role",
        "status",
        "login",
        "grafana_org_name",
        "grafana_org_id",
        "create_datetime",
    }
    token = login_token(client, "second")
    read = client.get(f"{API}/users/{first['uuid']}", headers=auth(token)).json()
    assert read == first


def test_passwords_are_stored_as_argon2_with_an_encrypted_salt(client: TestClient, app: FastAPI):
    user = register(client, "stored")
    with app.state.context.session_factory() as session:
        row = session.get(User, UUID(user["uuid"]))
        assert row is not None
        assert row.hashed_password.startswith("$argon2id$")
        assert PASSWORD not in row.hashed_password
        assert len(app.state.context.cipher.decrypt(row.cipher_dynamic_salt)) == 24


def test_a_taken_login_is_refused(client: TestClient):
    register(client, "taken")
    response = client.post(f"{API}/users", json={"login": "taken", "password": PASSWORD})
    assert response.status_code == 422
    assert response.json()["detail"] == "422: 3: User Validation Error: Login is not unique"


BAD_REGISTRATIONS = [
    ({"login": "abc", "password": PASSWORD}, "body.login: at least 4 characters (got 3)"),
    ({"login": "a" * 21, "password": PASSWORD}, "body.login: at most 20 characters (got 21)"),
    ({"login": "with space", "password": PASSWORD}, "body.login: Value error, only letters"),
    ({"login": "юзер-1", "password": PASSWORD}, "body.login: Value error, only letters"),
    (
        {"login": "a" * 100_000, "password": PASSWORD},
        "body.login: at most 20 characters (got 100000)",
    ),
    ({"login": "user1", "password": "short"}, "body.password: at least 8 characters (got 5)"),
    ({"login": "user1", "password": "x" * 101}, "body.password: at most 100 characters (got 101)"),
    ({"login": "user1", "password": "pass word"}, "body.password: Value error, only ASCII"),
    ({"login": "user1", "password": "пароль-длинный"}, "body.password: Value error, only ASCII"),
    (
        {"login": "user1", "password": "p" * 1_000_000},
        "body.password: at most 100 characters (got 1000000)",
    ),
    ({"login": 12345, "password": PASSWORD}, "body.login: Input should be a valid string"),
    ({"login": "user1", "password": None}, "body.password: Input should be a valid string"),
    ({"login": "user1"}, "body.password: Field required"),
    ({}, "body.login: Field required; body.password: Field required"),
    ([], "body: Input should be a valid dictionary"),
    ("user1", "body: Input should be a valid dictionary"),
]


def test_registration_validates_its_body(client: TestClient):
    for body, expected in BAD_REGISTRATIONS:
        response = client.post(f"{API}/users", json=body)
        assert response.status_code == 422, body
        assert response.json()["detail"].startswith(f"422: 2: Validation Error: {expected}"), (
            response.json()
        )


def test_unparseable_bodies_are_refused(client: TestClient, actors: Actors):
    alice = actors.headers["alice"]
    for content in (b"{", b"\xff\xfe", b"null", b'{"login": "x"' * 1000, b"1e999999"):
        for method, path, headers in (
            ("POST", "/users", {}),
            ("POST", "/users/auth", {}),
            ("PATCH", f"/users/{actors.alice_uuid}", alice),
        ):
            response = client.request(
                method,
                f"{API}{path}",
                content=content,
                headers={**headers, "content-type": "application/json"},
            )
            assert response.status_code == 422, (method, path, content[:20])


def test_token_round_trip(client: TestClient, settings):
    user = register(client, "roundtrip")
    token = login_token(client, "roundtrip")
    claims = jwt.decode(token, SECRET_KEY, algorithms=["HS256"])
    assert list(claims) == ["uuid", "type", "exp"]
    assert claims["uuid"] == user["uuid"] and claims["type"] == "User"
    expected_exp = datetime.now(UTC).timestamp() + settings.auth_token_expiration
    assert abs(claims["exp"] - expected_exp) < 60
    response = client.get(f"{API}/users/{user['uuid']}", headers=auth(token))
    assert response.status_code == 200 and response.json()["login"] == "roundtrip"


def test_login_with_telegram_chat_id(client: TestClient, app: FastAPI):
    user = register(client, "telegram")
    with app.state.context.session_factory() as session:
        session.execute(
            update(User).where(User.uuid == UUID(user["uuid"])).values(telegram_chat_id="424242")
        )
        session.commit()
    token = login_token(client, "424242")
    assert jwt.decode(token, SECRET_KEY, algorithms=["HS256"])["uuid"] == user["uuid"]


def test_wrong_credentials_give_the_same_401(client: TestClient):
    register(client, "someone")
    details = set()
    for credentials, password in (("someone", "wrong-pass"), ("nobody", PASSWORD)):
        response = client.post(
            f"{API}/users/auth", json={"credentials": credentials, "password": password}
        )
        assert response.status_code == 401
        details.add(response.json()["detail"])
    assert details == {"401: 1: No Access: Invalid credentials"}


def test_blocked_users_are_rejected_until_unblocked(client: TestClient, actors: Actors):
    admin, alice = actors.headers["admin"], actors.headers["alice"]
    users_url = f"{API}/users"
    assert client.patch(f"{users_url}/block/{actors.alice_uuid}", headers=admin).status_code == 204
    bob_view = client.get(f"{users_url}/{actors.alice_uuid}", headers=actors.headers["bob"])
    assert bob_view.json()["status"] == "Blocked"
    for response in (
        client.get(users_url, headers=alice),
        client.post(f"{users_url}/auth", json={"credentials": "alice", "password": PASSWORD}),
    ):
        assert response.status_code == 403
        assert response.json()["detail"] == "403: 1: No Access: User is blocked"

    assert (
        client.patch(f"{users_url}/unblock/{actors.alice_uuid}", headers=admin).status_code == 204
    )
    assert client.get(users_url, headers=alice).status_code == 200
    assert client.get(f"{users_url}/{actors.alice_uuid}", headers=alice).json()["status"] == (
        "Unverified"
    )


def test_unblock_restores_verified_for_telegram_linked_users(
    client: TestClient, actors: Actors, app: FastAPI
):
    with app.state.context.session_factory() as session:
        session.execute(
            update(User).where(User.uuid == actors.bob_uuid).values(telegram_chat_id="777")
        )
        session.commit()
    admin = actors.headers["admin"]
    client.patch(f"{API}/users/block/{actors.bob_uuid}", headers=admin)
    client.patch(f"{API}/users/unblock/{actors.bob_uuid}", headers=admin)
    response = client.get(f"{API}/users/{actors.bob_uuid}", headers=admin)
    assert response.json()["status"] == "Verified"


def test_an_admin_cannot_block_themselves(client: TestClient, actors: Actors):
    response = client.patch(
        f"{API}/users/block/{actors.admin_uuid}", headers=actors.headers["admin"]
    )
    assert response.status_code == 422
    assert client.get(f"{API}/users", headers=actors.headers["admin"]).status_code == 200


def test_unknown_and_malformed_uuids(client: TestClient, actors: Actors):
    admin, alice = actors.headers["admin"], actors.headers["alice"]
    unknown = uuid4()
    for response in (
        client.get(f"{API}/users/{unknown}", headers=alice),
        client.patch(f"{API}/users/block/{unknown}", headers=admin),
        client.patch(f"{API}/users/unblock/{unknown}", headers=admin),
    ):
        assert response.status_code == 404
        assert response.json()["detail"] == f"404: 2: Validation Error: User {unknown}: not found"
    for bad in ("not-a-uuid", "1", "x" * 5000, "%00", "00000000-0000-0000-0000-00000000000g"):
        for response in (
            client.get(f"{API}/users/{bad}", headers=alice),
            client.patch(f"{API}/users/{bad}", json={}, headers=alice),
            client.patch(f"{API}/users/block/{bad}", headers=admin),
        ):
            assert response.status_code in (404, 422), bad
            if response.status_code == 422:
                assert "Validation Error: path.uuid:" in response.json()["detail"]


def test_tokens_that_name_nobody_valid_get_401(client: TestClient, actors: Actors, app: FastAPI):
    past = datetime.now(UTC) - timedelta(days=40)
    bad_tokens = {
        "expired": make_user_token(actors.alice_uuid, SECRET_KEY, 3600, now=past),
        "other key": make_user_token(actors.alice_uuid, SECRET_KEY[::-1], 3600),
        "garbage": "not.a.token",
        "bearer": "Bearer " + actors.headers["alice"]["x-auth-token"],
        "non-ascii": "ÿÿÿ".encode("latin-1"),
        "huge": "a" * 20_000,
        "unknown user": make_user_token(uuid4(), SECRET_KEY, 3600),
        "unknown unit": make_unit_token(uuid4(), SECRET_KEY),
        "user without exp": jwt.encode(
            {"uuid": str(actors.alice_uuid), "type": "User"}, SECRET_KEY, algorithm="HS256"
        ),
        "uuid not a string": jwt.encode({"uuid": 5, "type": "Unit"}, SECRET_KEY, algorithm="HS256"),
        "grafana": jwt.encode(
            {"uuid": str(actors.alice_uuid), "type": "Grafana"}, SECRET_KEY, algorithm="HS256"
        ),
        "unknown type": jwt.encode({"uuid": str(uuid4()), "type": "Root"}, SECRET_KEY),
        "alg none": jwt.encode({"uuid": str(actors.unit_uuid), "type": "Unit"}, None, "none"),
        "other domain": make_backend_token("elsewhere.test", SECRET_KEY),
    }
    for name, token in bad_tokens.items():
        for response in (
            client.get(f"{API}/users", headers=auth(token)),
            client.post(
                f"{API}/users", json={"login": "sneaky", "password": PASSWORD}, headers=auth(token)
            ),
        ):
            assert response.status_code == 401, name
            assert response.json()["detail"].startswith("401: 1: No Access: "), name


def test_a_user_token_stops_working_when_the_user_is_gone(
    client: TestClient, actors: Actors, app: FastAPI
):
    with app.state.context.session_factory() as session:
        session.delete(session.get(User, actors.bob_uuid))
        session.commit()
    response = client.get(f"{API}/users", headers=actors.headers["bob"])
    assert response.status_code == 401


def test_backend_token_is_an_agent_without_user_access(client: TestClient, actors: Actors):
    token = make_backend_token("pepeunit.test", SECRET_KEY)
    assert client.get(f"{API}/users", headers=auth(token)).status_code == 403


def test_users_change_their_own_login_and_password(client: TestClient, actors: Actors):
    alice, url = actors.headers["alice"], f"{API}/users/{actors.alice_uuid}"
    response = client.patch(
        url, json={"login": "alice.new", "password": "new-pass-1"}, headers=alice
    )
    assert response.status_code == 200 and response.json()["login"] == "alice.new"
    login_token(client, "alice.new", "new-pass-1")
    refused = client.post(f"{API}/users/auth", json={"credentials": "alice", "password": PASSWORD})
    assert refused.status_code == 401

    unchanged = client.patch(url, json={}, headers=alice)
    assert unchanged.status_code == 200 and unchanged.json()["login"] == "alice.new"
    assert (
        client.patch(url, json={"login": None, "password": None}, headers=alice).status_code == 200
    )
    same_login = client.patch(url, json={"login": "alice.new"}, headers=alice)
    assert same_login.status_code == 200

    taken = client.patch(url, json={"login": "bobby"}, headers=alice)
    assert taken.status_code == 422 and taken.json()["detail"].endswith("Login is not unique")
    for body in ({"login": "no"}, {"password": "short"}, {"login": ["bob"]}, {"password": 1}):
        assert client.patch(url, json=body, headers=alice).status_code == 422, body

    someone_else = client.patch(
        f"{API}/users/{actors.bob_uuid}", json={"login": "hijacked"}, headers=alice
    )
    assert someone_else.status_code == 403
    bob = client.get(f"{API}/users/{actors.bob_uuid}", headers=alice).json()
    assert bob["login"] == "bobby"


def _logins(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [user["login"] for user in response.json()["users"]]


def test_listing_pages_filters_and_orders(client: TestClient, actors: Actors, settings):
    for index in range(5):
        register(client, f"extra_{index}")
    alice, url = actors.headers["alice"], f"{API}/users"

    everyone = client.get(url, headers=alice).json()
    assert everyone["count"] == 8 and len(everyone["users"]) == 8
    newest_first = [user["login"] for user in everyone["users"]]
    assert newest_first[0] == "extra_4" and newest_first[-1] == "admin"
    assert (
        _logins(client.get(url, params={"order_by_create_date": "asc"}, headers=alice))
        == (newest_first[::-1])
    )

    page = client.get(url, params={"offset": 2, "limit": 3}, headers=alice).json()
    assert page["count"] == 8 and [user["login"] for user in page["users"]] == newest_first[2:5]
    assert client.get(url, params={"limit": 0}, headers=alice).json() == {"count": 8, "users": []}
    far = client.get(url, params={"offset": MAX_OFFSET}, headers=alice).json()
    assert far == {"count": 8, "users": []}
    assert len(_logins(client.get(url, params={"limit": 500}, headers=alice))) == 8

    assert _logins(client.get(url, params={"role": "Admin"}, headers=alice)) == ["admin"]
    both_roles = client.get(url, params=[("role", "Admin"), ("role", "User")], headers=alice)
    assert len(_logins(both_roles)) == 8
    client.patch(f"{url}/block/{actors.bob_uuid}", headers=actors.headers["admin"])
    assert _logins(client.get(url, params={"status": "Blocked"}, headers=alice)) == ["bobby"]
    assert _logins(client.get(url, params={"search_string": "EXTRA 3"}, headers=alice)) == [
        "extra_3"
    ]
    assert _logins(client.get(url, params={"search_string": "a_"}, headers=alice)) == [
        f"extra_{index}" for index in range(4, -1, -1)
    ]
    assert _logins(client.get(url, params={"search_string": "%"}, headers=alice)) == []
    picked = [("uuids", str(actors.alice_uuid)), ("uuids", str(actors.bob_uuid))]
    assert sorted(_logins(client.get(url, params=picked, headers=alice))) == ["alice", "bobby"]


def test_listing_rejects_bad_query_parameters(client: TestClient, actors: Actors, settings):
    alice, url = actors.headers["alice"], f"{API}/users"
    for params in (
        {"limit": settings.max_pagination_size + 1},
        {"limit": 10**30},
        {"limit": -1},
        {"limit": "ten"},
        {"offset": -1},
        {"offset": MAX_OFFSET + 1},
        {"offset": 10**30},
        {"role": "Root"},
        {"status": "Sleeping"},
        {"order_by_create_date": "sideways"},
        {"uuids": "not-a-uuid"},
        {"uuids": [str(uuid4()) for _ in range(501)]},
        {"search_string": "x" * 257},
    ):
        response = client.get(url, params=params, headers=alice)
        assert response.status_code == 422, params
        assert response.json()["detail"].startswith("422: 2: Validation Error: "), params


def test_text_the_database_cannot_store_is_refused(client: TestClient, actors: Actors):
    """PostgreSQL refuses NUL characters in text; that must be a 422, not a database error."""
    responses = [
        client.post(f"{API}/users", json={"login": "nul\x00nul", "password": PASSWORD}),
        client.post(f"{API}/users/auth", json={"credentials": "ali\x00ce", "password": PASSWORD}),
        client.post(f"{API}/users/auth", json={"credentials": "alice", "password": "pass\x00word"}),
        client.get(
            f"{API}/users", params={"search_string": "al\x00"}, headers=actors.headers["alice"]
        ),
        client.patch(
            f"{API}/users/{actors.alice_uuid}",
            json={"login": "a\x00bcd"},
            headers=actors.headers["alice"],
        ),
    ]
    assert [response.status_code for response in responses] == [422] * 5
