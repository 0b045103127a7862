"""GraphQL users fields (docs/graphql.md#users) against their REST twins under `/users`."""

from uuid import UUID

from fastapi.testclient import TestClient

from tests.control_plane.conftest import API, PASSWORD, Actors, auth, login_token
from tests.control_plane.graphql_twins import (
    as_graphql,
    data,
    gql,
    refusal_status,
    without_typenames,
)

USERS = f"{API}/users"
USER_FIELDS = "{ __typename uuid role status login grafanaOrgName grafanaOrgId createDatetime }"
GET_USER = f"query($uuid: UUID!) {{ getUser(uuid: $uuid) {USER_FIELDS} }}"
GET_USERS = (
    "query($filters: UserFilterInput!) { getUsers(filters: $filters) "
    f"{{ __typename count users {USER_FIELDS} }} }}"
)
GET_TOKEN = "query($data: UserAuthInput!) { getToken(data: $data) }"
CREATE_USER = f"mutation($user: UserCreateInput!) {{ createUser(user: $user) {USER_FIELDS} }}"
UPDATE_USER = f"mutation($user: UserUpdateInput!) {{ updateUser(user: $user) {USER_FIELDS} }}"
BLOCK = "mutation($uuid: UUID!) { blockUser(uuid: $uuid) { isNone } }"
UNBLOCK = "mutation($uuid: UUID!) { unblockUser(uuid: $uuid) { __typename isNone } }"


def test_get_user_and_get_users_answer_what_rest_answers(client: TestClient, actors: Actors):
    alice = actors.headers["alice"]
    rest_user = client.get(f"{USERS}/{actors.bob_uuid}", headers=alice).json()
    answer = data(gql(client, GET_USER, {"uuid": str(actors.bob_uuid).upper()}, alice))
    assert answer["getUser"]["__typename"] == "UserType"
    assert without_typenames(answer["getUser"]) == as_graphql(rest_user)
    assert answer["getUser"]["role"] == "USER" and answer["getUser"]["uuid"] == str(actors.bob_uuid)

    rest_list = client.get(
        USERS, params={"search_string": "b", "limit": 2, "offset": 0}, headers=alice
    ).json()
    answer = data(gql(client, GET_USERS, {"filters": {"searchString": "b", "limit": 2}}, alice))
    assert answer["getUsers"]["__typename"] == "UsersResultType"
    assert without_typenames(answer["getUsers"]) == as_graphql(rest_list)
    admins = data(gql(client, GET_USERS, {"filters": {"role": ["ADMIN"]}}, alice))["getUsers"]
    assert [user["uuid"] for user in admins["users"]] == [str(actors.admin_uuid)]


def test_refusals_carry_the_status_rest_gives(client: TestClient, actors: Actors):
    bob = str(actors.bob_uuid)
    for caller in ("anonymous", "unit"):
        headers = actors.headers[caller]
        rest = client.get(f"{USERS}/{bob}", headers=headers).status_code
        assert refusal_status(gql(client, GET_USER, {"uuid": bob}, headers)) == rest == 403
        rest = client.get(USERS, headers=headers).status_code
        assert refusal_status(gql(client, GET_USERS, {"filters": {}}, headers)) == rest == 403
    alice = actors.headers["alice"]
    rest = client.patch(f"{USERS}/block/{bob}", headers=alice).status_code
    assert refusal_status(gql(client, BLOCK, {"uuid": bob}, alice)) == rest == 403
    credentials = {"credentials": "bobby", "password": PASSWORD}
    rest = client.post(f"{USERS}/auth", json=credentials, headers=alice).status_code
    assert refusal_status(gql(client, GET_TOKEN, {"data": credentials}, alice)) == rest == 403
    new_user = {"login": "carol", "password": PASSWORD}
    rest = client.post(USERS, json=new_user, headers=alice).status_code
    assert refusal_status(gql(client, CREATE_USER, {"user": new_user}, alice)) == rest == 403
    wrong = {"credentials": "bobby", "password": "wrong-password"}
    rest = client.post(f"{USERS}/auth", json=wrong).status_code
    assert refusal_status(gql(client, GET_TOKEN, {"data": wrong})) == rest == 401


def test_get_token_logs_in_without_a_grafana_cookie(client: TestClient, actors: Actors):
    response = client.post(
        "/pepeunit/graphql",
        json={
            "query": GET_TOKEN,
            "variables": {"data": {"credentials": "bobby", "password": PASSWORD}},
        },
    )
    token = response.json()["data"]["getToken"]
    assert "set-cookie" not in response.headers
    me = client.get(f"{USERS}/{actors.bob_uuid}", headers=auth(token))
    assert me.status_code == 200


def test_create_update_block_and_unblock_as_rest_does(client: TestClient, actors: Actors):
    created = data(gql(client, CREATE_USER, {"user": {"login": "carol", "password": PASSWORD}}))
    carol = created["createUser"]
    assert carol["__typename"] == "UserType" and carol["role"] == "USER"
    assert carol["status"] == "UNVERIFIED"
    token = login_token(client, "carol")
    rest = client.get(f"{USERS}/{carol['uuid']}", headers=actors.headers["alice"]).json()
    assert without_typenames(carol) == as_graphql(rest)

    renamed = data(gql(client, UPDATE_USER, {"user": {"login": "carol2"}}, auth(token)))
    assert renamed["updateUser"]["login"] == "carol2"
    assert renamed["updateUser"]["uuid"] == carol["uuid"]
    taken = {"login": "bobby"}
    rest = client.patch(f"{USERS}/{carol['uuid']}", json=taken, headers=auth(token))
    answer = gql(client, UPDATE_USER, {"user": taken}, auth(token))
    assert refusal_status(answer) == rest.status_code == 422
    assert answer["errors"][0]["message"] == rest.json()["detail"]
    short = gql(client, UPDATE_USER, {"user": {"login": "ab"}}, auth(token))
    assert refusal_status(short) == 422
    assert "user.login: at least 4 characters (got 2)" in short["errors"][0]["message"]

    admin = actors.headers["admin"]
    assert data(gql(client, BLOCK, {"uuid": carol["uuid"]}, admin)) == {
        "blockUser": {"isNone": True}
    }
    assert refusal_status(gql(client, UPDATE_USER, {"user": {}}, auth(token))) == 403
    unblocked = data(gql(client, UNBLOCK, {"uuid": carol["uuid"]}, admin))
    assert unblocked == {"unblockUser": {"__typename": "NoneType", "isNone": True}}
    assert client.get(f"{USERS}/{carol['uuid']}", headers=auth(token)).status_code == 200


def test_verification_link_and_grafana_cookies_are_feature_flagged(
    client: TestClient, actors: Actors
):
    alice = actors.headers["alice"]
    rest = client.get(f"{USERS}/generate_verification_link/", headers=alice)
    answer = gql(client, "{ getVerificationUser }", headers=alice)
    assert refusal_status(answer) == rest.status_code == 405
    assert answer["errors"][0]["message"] == rest.json()["detail"]

    answer = gql(client, "mutation { setGrafanaCookies { isNone } }", headers=alice)
    assert refusal_status(answer) == 405
    assert answer["errors"][0]["message"].startswith("405: 15: Feature Flag Error: ")

    response = client.post(
        "/pepeunit/graphql",
        json={"query": "mutation { deleteUserCookies { isNone } }"},
        headers=alice,
    )
    assert response.json() == {"data": {"deleteUserCookies": {"isNone": True}}}
    cookie = response.headers["set-cookie"]
    assert cookie.startswith('PepeunitGrafana=""') and "Max-Age=0" in cookie


def test_bad_pages_and_rest_spelled_enums_are_refused(client: TestClient, actors: Actors):
    alice = actors.headers["alice"]
    for page, rest_page in (({"limit": -1}, {"limit": -1}), ({"limit": 501}, {"limit": 501})):
        answer = gql(client, GET_USERS, {"filters": page}, alice)
        rest = client.get(USERS, params=rest_page, headers=alice)
        assert refusal_status(answer) == rest.status_code == 422
        assert answer["errors"][0]["message"].startswith("422: 2: Validation Error: limit must")
    answer = gql(client, GET_USERS, {"filters": {"offset": -1}}, alice)
    assert refusal_status(answer) == 422
    assert "offset must be between 0 and" in answer["errors"][0]["message"]

    answer = gql(client, GET_USERS, {"filters": {"role": ["User"]}}, alice)
    assert answer["data"] is None
    assert "Value 'User' does not exist in 'UserRole' enum" in answer["errors"][0]["message"]
    assert UUID(
        data(gql(client, GET_USER, {"uuid": actors.bob_uuid.hex}, alice))["getUser"]["uuid"]
    )
