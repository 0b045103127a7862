"""Filters in the reference order, with
docs/compatibility.md#duplicate-check-on-raw-payloads and
docs/compatibility.md#number-means-a-finite-number."""

import pytest

from pipelines import rejections
from tests.pipelines.builders import accepted_payloads, make_pipeline, run


def reasons(pipeline, messages):
    _, results = run(pipeline, messages)
    return [result.rejection for result in results]


class TestValueLists:
    def test_text_white_list_is_exact_and_case_sensitive(self):
        pipeline = make_pipeline(
            {"type_value_filtering": "WhiteList", "filtering_values": ["Open", "Closed"]}
        )
        messages = [(0, "Open"), (1, "open"), (2, " Open"), (3, "Closed"), (4, "Fault")]
        assert accepted_payloads(pipeline, messages) == ["Open", "Closed"]
        assert reasons(pipeline, messages)[1] == rejections.NOT_IN_WHITE_LIST

    def test_number_white_list_compares_numerically(self):
        pipeline = make_pipeline(
            {
                "type_input_value": "Number",
                "type_value_filtering": "WhiteList",
                "filtering_values": [1, 2.5],
            }
        )
        messages = [(0, "1"), (1, "1.0"), (2, "+1"), (3, "1e0"), (4, "2.50"), (5, "3")]
        assert accepted_payloads(pipeline, messages) == ["1", "1.0", "+1", "1e0", "2.50"]

    @pytest.mark.parametrize("values", [[], None])
    def test_empty_white_list_rejects_everything(self, values):
        pipeline = make_pipeline({"type_value_filtering": "WhiteList", "filtering_values": values})
        assert accepted_payloads(pipeline, [(0, "a"), (1, ""), (2, "1")]) == []

    def test_text_black_list(self):
        pipeline = make_pipeline(
            {"type_value_filtering": "BlackList", "filtering_values": ["one", "two"]}
        )
        messages = [(0, "one"), (1, "One"), (2, "two "), (3, "two")]
        assert accepted_payloads(pipeline, messages) == ["One", "two "]
        assert reasons(pipeline, messages)[0] == rejections.IN_BLACK_LIST

    def test_number_black_list_compares_numerically(self):
        pipeline = make_pipeline(
            {
                "type_input_value": "Number",
                "type_value_filtering": "BlackList",
                "filtering_values": [-127, 85.0],
            }
        )
        messages = [(0, "-127"), (1, "-127.0"), (2, "85"), (3, "84.9"), (4, "21")]
        assert accepted_payloads(pipeline, messages) == ["84.9", "21"]

    def test_values_without_a_filtering_type_are_ignored(self):
        pipeline = make_pipeline({"filtering_values": ["a"]})
        assert accepted_payloads(pipeline, [(0, "a"), (1, "b")]) == ["a", "b"]


class TestThresholds:
    @pytest.mark.parametrize(
        ("threshold", "accepted"),
        [
            ({"type_value_threshold": "Min", "threshold_min": 10}, ["10", "11", "100"]),
            ({"type_value_threshold": "Max", "threshold_max": 10}, ["-5", "9.99", "10"]),
            (
                {"type_value_threshold": "Range", "threshold_min": 0, "threshold_max": 10},
                ["9.99", "10"],
            ),
        ],
    )
    def test_bounds_are_inclusive(self, threshold, accepted):
        pipeline = make_pipeline({"type_input_value": "Number", **threshold})
        messages = [(0, "-5"), (1, "9.99"), (2, "10"), (3, "11"), (4, "100")]
        assert set(accepted_payloads(pipeline, messages)) == set(accepted)
        rejected = [r for r in reasons(pipeline, messages) if r is not None]
        assert rejected and all(r == rejections.OUTSIDE_THRESHOLD for r in rejected)

    def test_text_thresholds_apply_to_numeric_payloads_only(self):
        pipeline = make_pipeline({"type_value_threshold": "Max", "threshold_max": 10})
        messages = [(0, "11"), (1, "hello"), (2, "5"), (3, "Inf")]
        assert accepted_payloads(pipeline, messages) == ["hello", "5"]

    def test_text_threshold_without_its_bound_is_ignored(self):
        pipeline = make_pipeline({"type_value_threshold": "Min"})
        assert accepted_payloads(pipeline, [(0, "-1000")]) == ["-1000"]


class TestMaxRate:
    def test_leading_edge_throttle(self):
        pipeline = make_pipeline({"max_rate": 10})
        messages = [
            (0, "a"),
            (5, "b"),
            (9.999, "c"),
            (10, "d"),
            (15, "e"),
            (19.999, "f"),
            (20, "g"),
        ]
        assert accepted_payloads(pipeline, messages) == ["a", "d", "g"]
        assert reasons(pipeline, messages)[1] == rejections.MAX_RATE

    def test_rejected_messages_do_not_restart_the_window(self):
        # "b" is rejected by the list, so the rate window still counts from "a" at 0 s.
        pipeline = make_pipeline(
            {"max_rate": 10, "type_value_filtering": "BlackList", "filtering_values": ["b"]}
        )
        assert accepted_payloads(pipeline, [(0, "a"), (8, "b"), (10, "c")]) == ["a", "c"]

    def test_zero_disables(self):
        pipeline = make_pipeline({"max_rate": 0})
        assert accepted_payloads(pipeline, [(0, "a"), (0, "b"), (0.001, "c")]) == ["a", "b", "c"]

    def test_sub_millisecond_differences_do_not_count(self):
        # the clock has millisecond precision, like the stored rows
        pipeline = make_pipeline({"max_rate": 1})
        assert accepted_payloads(pipeline, [(0.0004, "a"), (1.0001, "b")]) == ["a", "b"]


class TestMaxSize:
    def test_counts_utf8_bytes(self):
        pipeline = make_pipeline({"max_size": 4})
        messages = [
            (0, "abcd"),
            (1, "abcde"),
            (2, "éé"),
            (3, "éa"),
            (4, "ééa"),
            (5, "€a"),
            (6, "€ab"),
        ]
        assert accepted_payloads(pipeline, messages) == ["abcd", "éé", "éa", "€a"]
        assert reasons(pipeline, messages)[1] == rejections.MAX_SIZE

    def test_zero_disables(self):
        assert accepted_payloads(make_pipeline({"max_size": 0}), [(0, "x" * 100_000)])


class TestLastUniqueCheck:
    def test_consecutive_duplicates_of_the_last_accepted_value(self):
        pipeline = make_pipeline({"last_unique_check": True})
        messages = [(0, "A"), (1, "A"), (2, "B"), (3, "A"), (4, "A")]
        assert accepted_payloads(pipeline, messages) == ["A", "B", "A"]
        assert reasons(pipeline, messages)[1] == rejections.DUPLICATE

    def test_compares_the_raw_payload_not_the_transformed_value(self):
        # docs/compatibility.md#duplicate-check-on-raw-payloads: the reference compared "5" with
        # "10.000000" and stored the repeat.
        pipeline = make_pipeline(
            {"type_input_value": "Number", "last_unique_check": True},
            transformations={"multiplication_ratio": 2},
        )
        assert accepted_payloads(pipeline, [(0, "5"), (1, "5"), (2, "6"), (3, "5")]) == [
            "5",
            "6",
            "5",
        ]

    def test_rejected_payload_does_not_become_the_reference(self):
        pipeline = make_pipeline({"last_unique_check": True, "max_rate": 10})
        # "B" at 1 s is rate-limited, so "B" at 10 s is compared with "A" and accepted.
        assert accepted_payloads(pipeline, [(0, "A"), (1, "B"), (10, "B")]) == ["A", "B"]

    def test_disabled_by_default(self):
        assert accepted_payloads(make_pipeline(), [(0, "A"), (1, "A")]) == ["A", "A"]


class TestNumberType:
    @pytest.mark.parametrize(
        "payload", ["abc", "", "NaN", "Inf", "-Infinity", "1e400", " 1", "1,5"]
    )
    def test_non_finite_or_non_numeric_payload_is_rejected(self, payload):
        # docs/compatibility.md#number-means-a-finite-number, even where the reference's blacklist
        # would have let it through
        pipeline = make_pipeline(
            {"type_input_value": "Number", "type_value_filtering": "BlackList"}
        )
        _, results = run(pipeline, [(0, payload)])
        assert results[0].rejection == rejections.NOT_A_NUMBER
        assert results[0].rows == []


class TestOrder:
    """The first failing rule names the rejection: list, threshold, rate, size, uniqueness."""

    def test_list_before_threshold(self):
        pipeline = make_pipeline(
            {
                "type_input_value": "Number",
                "type_value_filtering": "BlackList",
                "filtering_values": [500],
                "type_value_threshold": "Max",
                "threshold_max": 100,
            }
        )
        assert reasons(pipeline, [(0, "500")]) == [rejections.IN_BLACK_LIST]

    def test_threshold_before_rate(self):
        pipeline = make_pipeline(
            {"type_input_value": "Number", "type_value_threshold": "Max", "threshold_max": 100,
             "max_rate": 60}
        )  # fmt: skip
        assert reasons(pipeline, [(0, "1"), (1, "500")]) == [None, rejections.OUTSIDE_THRESHOLD]

    def test_rate_before_size_before_uniqueness(self):
        pipeline = make_pipeline({"max_rate": 10, "max_size": 3, "last_unique_check": True})
        assert reasons(
            pipeline, [(0, "abc"), (1, "abcd"), (20, "abcd"), (30, "abc"), (40, "abc")]
        ) == [
            None,
            rejections.MAX_RATE,
            rejections.MAX_SIZE,
            rejections.DUPLICATE,
            rejections.DUPLICATE,
        ]
