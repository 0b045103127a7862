"""`--stage` of `pepeunit rollout create`, read into the API's stage objects (pure)."""

import pytest

from pepeunit_cli.rollout_stages import (
    StageDefaults,
    StageSpecError,
    describe_stage,
    parse_stage,
    parse_stages,
)

DEFAULTS = StageDefaults(soak_seconds=600, confirm_deadline_seconds=300, max_error_log_increase=0)


def stage(kind: str, value: int, **gates: object) -> dict:
    return {
        "size_kind": kind,
        "size_value": value,
        "soak_seconds": 600,
        "confirm_deadline_seconds": 300,
        "max_error_log_increase": 0,
        "max_rejection_increase": None,
    } | gates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("canary:1", stage("Units", 1)),
        ("3", stage("Units", 3)),
        ("50%", stage("Percent", 50)),
        ("half:50%", stage("Percent", 50)),
        ("all", stage("Percent", 100)),
        ("ALL", stage("Percent", 100)),
        (
            "canary:1, soak=30, deadline=60, max-errors=2, max-rejections=5",
            stage(
                "Units",
                1,
                soak_seconds=30,
                confirm_deadline_seconds=60,
                max_error_log_increase=2,
                max_rejection_increase=5,
            ),
        ),
    ],
)
def test_a_stage_reads_as_the_api_stage(text, expected):
    assert parse_stage(text, DEFAULTS) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the size '' must be N (units), N% or all"),
        ("half", "the size 'half' must be N (units), N% or all"),
        ("-1", "the size '-1' must be N (units), N% or all"),
        ("150%", "150% is more than 100%"),
        ("1 unit:2", "the name '1 unit' must be a word"),
        ("all,soak", "'soak' is not one of soak=N, deadline=N, max-errors=N, max-rejections=N"),
        ("all,color=red", "'color=red' is not one of"),
        ("all,soak=ten", "soak must be a whole number, not 'ten'"),
        ("all,max-errors=-1", "max-errors must be a whole number, not '-1'"),
    ],
)
def test_a_stage_that_cannot_be_read_is_named_with_what_is_wrong(text, message):
    with pytest.raises(StageSpecError) as raised:
        parse_stage(text, DEFAULTS)
    assert f"stage {text!r}" in str(raised.value)
    assert message in str(raised.value)


def test_stages_are_required_and_described_back():
    with pytest.raises(StageSpecError, match="no --stage given"):
        parse_stages([], DEFAULTS)
    parsed = parse_stages(["canary:1", "2", "50%", "all"], DEFAULTS)
    assert [describe_stage(item) for item in parsed] == ["1 unit", "2 units", "50%", "all"]
