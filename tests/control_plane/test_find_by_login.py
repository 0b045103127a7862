"""`users.find_by_login`: the user whose login is exactly the one given, not one containing it."""

from fastapi import FastAPI

from control_plane.services.users import users
from tests.pepeunit_core.builders import add_user


def test_only_the_exact_login(app: FastAPI):
    with app.state.context.session_factory() as session:
        add_user(session, "bobby-two")
        bobby = add_user(session, "bobby")
        session.commit()
        assert users.find_by_login(session, "bobby") == bobby
        assert users.find_by_login(session, "bob") is None
        assert users.find_by_login(session, "BOBBY") is None
        # PostgreSQL refuses to compare text with NUL: no user, not a database error.
        assert users.find_by_login(session, "bob\x00by") is None
