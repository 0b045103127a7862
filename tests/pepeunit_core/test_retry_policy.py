"""The back-off schedule of RetryPolicy."""

import pytest

from pepeunit_core.retry import RetryPolicy


def test_delays_double_from_a_tenth_of_a_second_up_to_ten_seconds():
    policy = RetryPolicy()

    delays = [policy.delay_s(failures, draw=lambda: 0.0) for failures in range(1, 11)]

    assert delays == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 10, 10, 10])


def test_jitter_shortens_a_delay_by_at_most_its_fraction():
    policy = RetryPolicy(jitter=0.2)

    assert policy.delay_s(3, draw=lambda: 1.0) == pytest.approx(0.4 * 0.8)
    assert all(0.32 <= policy.delay_s(3) <= 0.4 for _ in range(1000))


def test_a_long_outage_stays_at_the_cap():
    policy = RetryPolicy(factor=10.0)

    assert policy.delay_s(100_000, draw=lambda: 0.0) == 10


@pytest.mark.parametrize(
    "arguments",
    [
        {"initial_delay_s": 0},
        {"initial_delay_s": 20, "max_delay_s": 10},
        {"factor": 0.5},
        {"jitter": 1.5},
    ],
)
def test_nonsense_policies_are_refused(arguments):
    with pytest.raises(ValueError, match="RetryPolicy"):
        RetryPolicy(**arguments)
