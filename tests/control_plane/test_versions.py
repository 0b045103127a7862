"""Version resolution (docs/compatibility.md#version-resolution) as a table: settings and history →
target or error."""

from dataclasses import dataclass

import pytest

from control_plane.services.repos.versions import (
    TAGS_MISSING,
    RepoVersionSettings,
    TargetVersion,
    UnitVersionSettings,
    target_repo_version,
    target_unit_version,
)


@dataclass(frozen=True)
class Commit:
    sha: str
    tags: tuple[str, ...] = ()


HEAD, FIX, RELEASE, OLD, FIRST = "e" * 40, "d" * 40, "c" * 40, "b" * 40, "a" * 40
# Newest first: HEAD untagged, FIX untagged, RELEASE tagged twice, OLD untagged, FIRST tagged.
HISTORY = (
    Commit(HEAD),
    Commit(FIX),
    Commit(RELEASE, ("1.0.0", "v1.0.0")),
    Commit(OLD),
    Commit(FIRST, ("0.1.0",)),
)
UNTAGGED = (Commit(HEAD), Commit(FIX))
OTHER = "f" * 40


def repo(
    *,
    auto: bool = True,
    only_tag: bool = False,
    compilable: bool = False,
    commit: str | None = None,
    branch: str | None = "main",
) -> RepoVersionSettings:
    return RepoVersionSettings(
        default_branch=branch,
        is_auto_update_repo=auto,
        is_only_tag_update=only_tag,
        is_compilable_repo=compilable,
        default_commit=commit,
    )


REPO_CASES = [
    ("auto head", repo(), HISTORY, TargetVersion(HEAD, None)),
    ("auto head tagged", repo(), HISTORY[2:], TargetVersion(RELEASE, "v1.0.0")),
    ("auto head without tags", repo(), UNTAGGED, TargetVersion(HEAD, None)),
    ("auto only-tag newest tag", repo(only_tag=True), HISTORY, TargetVersion(RELEASE, "v1.0.0")),
    ("auto only-tag older", repo(only_tag=True), HISTORY[3:], TargetVersion(FIRST, "0.1.0")),
    (
        "auto compilable newest tag",
        repo(compilable=True),
        HISTORY,
        TargetVersion(RELEASE, "v1.0.0"),
    ),
    (
        "auto compilable only-tag",
        repo(compilable=True, only_tag=True),
        HISTORY,
        TargetVersion(RELEASE, "v1.0.0"),
    ),
    ("manual commit", repo(auto=False, commit=FIX), HISTORY, TargetVersion(FIX, None)),
    ("manual tagged", repo(auto=False, commit=FIRST), HISTORY, TargetVersion(FIRST, "0.1.0")),
    (
        "manual ignores only-tag",
        repo(auto=False, only_tag=True, commit=OLD),
        HISTORY,
        TargetVersion(OLD, None),
    ),
    (
        "manual compilable tagged",
        repo(auto=False, compilable=True, commit=RELEASE),
        HISTORY,
        TargetVersion(RELEASE, "v1.0.0"),
    ),
]

REPO_ERRORS = [
    ("only-tag without tags", repo(only_tag=True), UNTAGGED, TAGS_MISSING),
    ("compilable without tags", repo(compilable=True), UNTAGGED, TAGS_MISSING),
    ("only-tag empty branch", repo(only_tag=True), (), TAGS_MISSING),
    ("head of empty branch", repo(), (), "no commits"),
    ("no default branch", repo(branch=None), HISTORY, "no default branch"),
    ("manual without commit", repo(auto=False), HISTORY, "no default commit"),
    ("manual commit off branch", repo(auto=False, commit=OTHER), HISTORY, "is not on branch"),
    ("manual abbreviated commit", repo(auto=False, commit=FIX[:7]), HISTORY, "is not on branch"),
    (
        "manual compilable untagged",
        repo(auto=False, compilable=True, commit=FIX),
        HISTORY,
        "has no tag",
    ),
]


@pytest.mark.parametrize(
    ("settings", "history", "expected"),
    [case[1:] for case in REPO_CASES],
    ids=[case[0] for case in REPO_CASES],
)
def test_repo_target(
    settings: RepoVersionSettings, history: tuple[Commit, ...], expected: TargetVersion
) -> None:
    assert target_repo_version(settings, history) == expected


@pytest.mark.parametrize(
    ("settings", "history", "message"),
    [case[1:] for case in REPO_ERRORS],
    ids=[case[0] for case in REPO_ERRORS],
)
def test_repo_target_errors(
    settings: RepoVersionSettings, history: tuple[Commit, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        target_repo_version(settings, history)


def unit(auto: bool, branch: str | None = "dev", commit: str | None = None) -> UnitVersionSettings:
    return UnitVersionSettings(
        is_auto_update_from_repo_unit=auto, repo_branch=branch, repo_commit=commit
    )


UNIT_CASES = [
    ("auto follows repo head", repo(), unit(True), HISTORY, TargetVersion(HEAD, None)),
    (
        "auto follows repo tag",
        repo(only_tag=True),
        unit(True, commit=OLD),
        HISTORY,
        TargetVersion(RELEASE, "v1.0.0"),
    ),
    (
        "manual own commit",
        repo(only_tag=True),
        unit(False, commit=OLD),
        HISTORY,
        TargetVersion(OLD, None),
    ),
    (
        "manual compilable tagged",
        repo(compilable=True),
        unit(False, commit=FIRST),
        HISTORY,
        TargetVersion(FIRST, "0.1.0"),
    ),
]

UNIT_ERRORS = [
    ("auto, repo has no tags", repo(only_tag=True), unit(True), UNTAGGED, TAGS_MISSING),
    ("manual without commit", repo(), unit(False), HISTORY, "no branch or commit"),
    ("manual without branch", repo(), unit(False, None, FIX), HISTORY, "no branch or commit"),
    ("manual off branch", repo(), unit(False, commit=OTHER), HISTORY, "is not on branch dev"),
    ("manual compilable untagged", repo(compilable=True), unit(False, commit=FIX), HISTORY, "tag"),
]


@pytest.mark.parametrize(
    ("repo_settings", "unit_settings", "history", "expected"),
    [case[1:] for case in UNIT_CASES],
    ids=[case[0] for case in UNIT_CASES],
)
def test_unit_target(
    repo_settings: RepoVersionSettings,
    unit_settings: UnitVersionSettings,
    history: tuple[Commit, ...],
    expected: TargetVersion,
) -> None:
    assert target_unit_version(repo_settings, unit_settings, history) == expected


@pytest.mark.parametrize(
    ("repo_settings", "unit_settings", "history", "message"),
    [case[1:] for case in UNIT_ERRORS],
    ids=[case[0] for case in UNIT_ERRORS],
)
def test_unit_target_errors(
    repo_settings: RepoVersionSettings,
    unit_settings: UnitVersionSettings,
    history: tuple[Commit, ...],
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        target_unit_version(repo_settings, unit_settings, history)
