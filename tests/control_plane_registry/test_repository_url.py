"""Only https://….git URLs by default; http:// and file:// only when explicitly allowed."""

import pytest

from control_plane.services.registry.repository_url import (
    WITH_LOCAL_SCHEMES,
    InvalidRepositoryUrlError,
    validate_repository_url,
)


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("https://github.com/pepeunit/unit.git", "https://github.com/pepeunit/unit.git"),
        (
            "HTTPS://GitLab.com:8443/Group/Sub/Unit.git",
            "https://gitlab.com:8443/Group/Sub/Unit.git",
        ),
    ],
)
def test_https_urls_are_accepted(url, normalised):
    assert validate_repository_url(url) == normalised


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://github.com/pepeunit/unit.git", "must start with https://"),
        ("file:///srv/unit.git", "must start with https://"),
        ("ext::sh -c touch% /tmp/pwned.git", "spaces"),
        ("ext::sh%20-c%20id.git", "must start with https://"),
        ("ssh://git@github.com/pepeunit/unit.git", "must start with https://"),
        ("git@github.com:pepeunit/unit.git", "must start with https://"),
        ("https://github.com/pepeunit/unit", "must end with .git"),
        ("https://user:token@github.com/pepeunit/unit.git", "must not contain credentials"),
        ("https://token@github.com/pepeunit/unit.git", "must not contain credentials"),
        ("https://github.com/pepeunit/unit.git?x=1", "query"),
        ("https://github.com/a.git?x=.git", "query"),
        ("https://github.com/pepeunit/unit.git#main", "fragment"),
        ("https:///unit.git", "no host"),
        ("https://github.com/../unit.git", "'..'"),
        ("https://github.com:99999/unit.git", "cannot be parsed"),
        ("https://github.com/pepe unit.git", "spaces"),
        ("https://github.com/unit.git\n", "control characters"),
        ("https://github.com/" + "a" * 2000 + ".git", "longer than"),
    ],
)
def test_other_urls_are_refused_with_the_reason(url, reason):
    with pytest.raises(InvalidRepositoryUrlError, match=reason):
        validate_repository_url(url)


def test_local_schemes_only_when_allowed():
    assert validate_repository_url("http://127.0.0.1:8080/unit.git", WITH_LOCAL_SCHEMES)
    assert validate_repository_url("file:///srv/unit.git", WITH_LOCAL_SCHEMES)
    with pytest.raises(InvalidRepositoryUrlError, match="file:///absolute"):
        validate_repository_url("file://host/srv/unit.git", WITH_LOCAL_SCHEMES)
