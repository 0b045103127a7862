"""Per-node record of rejected messages in the dataflow's node logic (issue 12.11): exact
counts per reason, the last reasons with their time, bounded memory, and a snapshot that a
replay continues from exactly."""

import base64
import pickle
from datetime import UTC, datetime

from flows.config_cache import PipelineSet
from flows.dataflow.items import MESSAGE
from flows.dataflow.node_logic import NodeLogic, NodeLogicContext
from flows.metrics import FlowMetrics
from flows.storage.rejections_writer import NodeRejectionsRow
from pepeunit_core.pipe_rejections import MAX_RECENT_REJECTIONS, RejectionLog
from pipelines import rejections
from pipelines.clock import to_epoch_ms
from pipelines.engine import Pipeline
from tests.flows.support import pipeline_config

NODE = "5f0c2d1e-0000-4000-8000-000000000001"
START_MS = to_epoch_ms(datetime(2026, 12, 7, 12, 0, tzinfo=UTC))
CONFIG = pipeline_config({"policy_type": "LastValue"}, max_rate=60, max_size=8)


def logic(memory=None) -> NodeLogic:
    pipelines = PipelineSet(1, {NODE: Pipeline(NODE, CONFIG)})
    context = NodeLogicContext(lambda: pipelines, 1, 16, FlowMetrics())
    return NodeLogic(context, memory)


def messages(*payloads: bytes, start_s: int = 0) -> list:
    return [
        (MESSAGE, NODE, index, START_MS + (start_s + index) * 1000, payload)
        for index, payload in enumerate(payloads)
    ]


def rejection_rows(out) -> list[NodeRejectionsRow]:
    return [item.row for item in out if isinstance(item.row, NodeRejectionsRow)]


def stored_log(row: NodeRejectionsRow) -> RejectionLog:
    return RejectionLog.from_stored(row.rejected_count, row.stored_log)


def test_rejections_are_counted_by_reason_and_stored_once_per_batch() -> None:
    node = logic()
    batch = messages(b"123456789", b"1", b"2", b"abc", b"\xff\xfe", b"1\x00", b"x" * 40)
    out, _ = node.on_batch(batch)
    rows = rejection_rows(out)
    assert len(rows) == 1
    log = stored_log(rows[0])
    assert log.rejected_count == rows[0].rejected_count == 6
    assert log.by_reason == {
        "Filters.max_rate": 1,
        "Filters.not_a_number": 1,
        "Filters.max_size": 1,
        "Message.invalid_utf8": 1,
        "Message.nul_character": 1,
        "Message.too_large": 1,
    }
    assert log.recent[0].message == "'123456789': longer than max_size 8 bytes"
    second = log.recent[1]
    assert second.received_datetime == datetime(2026, 12, 7, 12, 0, 2, tzinfo=UTC)
    assert (second.stage, second.reason) == ("Filters", "max_rate")
    assert second.message == "'2': less than max_rate 60 s after the last accepted value"
    assert log.recent[2].message == "'abc': not a finite number, and type_input_value is Number"
    assert log.recent[-1].message == "40 bytes: larger than PU_MQTT_MAX_PAYLOAD_SIZE"

    accepted_only, _ = node.on_batch(messages(b"7", start_s=120))
    assert rejection_rows(accepted_only) == []


def test_memory_is_bounded_and_a_snapshot_replays_exactly() -> None:
    node = logic()
    node.on_batch(messages(b"1"))
    snapshot = node.snapshot()
    flood = messages(*(str(i).encode() for i in range(50)), start_s=1)
    first_run = rejection_rows(node.on_batch(flood)[0])[-1]
    log = stored_log(first_run)
    assert log.rejected_count == 50 and log.by_reason == {"Filters.max_rate": 50}
    assert len(log.recent) == MAX_RECENT_REJECTIONS
    assert log.recent[-1].message.startswith("'49': ")
    # the same messages replayed from the snapshot give the same record, not twice the count
    replayed = rejection_rows(logic(snapshot).on_batch(flood)[0])[-1]
    assert replayed == first_run


def test_an_unreadable_stored_record_reads_as_its_count() -> None:
    assert RejectionLog.from_stored(7, "{not json") == RejectionLog(7)
    assert RejectionLog.from_stored(None, None) == RejectionLog(0)


def test_a_snapshot_from_before_rejections_were_recorded_resumes() -> None:
    node = logic()
    node.on_batch(messages(b"1"))
    old_snapshot = node.snapshot()
    del old_snapshot.rejections  # what unpickling a snapshot of the previous version gives
    out, _ = logic(old_snapshot).on_batch(messages(b"2", start_s=1))
    assert [row.rejected_count for row in rejection_rows(out)] == [1]


# A snapshot of this node after it accepted b"1" at START_MS, pickled by the version whose
# filter memory held the last acceptance as a datetime (before the millisecond clock).
DATETIME_CLOCK_SNAPSHOT = base64.b64decode(
    "gASVsAIAAAAAAACMGWZsb3dzLmRhdGFmbG93Lm5vZGVfbG9naWOUjA5Ob2RlRmxvd01lbW9yeZSTlCmBlE59lCiM"
    "BG5vZGWUjCQ1ZjBjMmQxZS0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDGUjAtub2RlX21lbW9yeZSMEHBpcGVs"
    "aW5lcy5lbmdpbmWUjApOb2RlTWVtb3J5lJOUKYGUTn2UKIwNZmlsdGVyX21lbW9yeZSMEXBpcGVsaW5lcy5maWx0"
    "ZXJzlIwMRmlsdGVyTWVtb3J5lJOUKYGUTn2UKIwQbGFzdF9hY2NlcHRlZF9hdJSMCGRhdGV0aW1llIwIZGF0ZXRp"
    "bWWUk5RDCgfqDAcMAAAAAACUaBSMCHRpbWV6b25llJOUaBSMCXRpbWVkZWx0YZSTlEsASwBLAIeUUpSFlFKUhpRS"
    "lIwRbGFzdF9hY2NlcHRlZF9yYXeUjAExlHWGlGKMDG9wZW5fd2luZG93c5SMFXBpcGVsaW5lcy5hZ2dyZWdhdGlv"
    "bpSMC09wZW5XaW5kb3dzlJOUKYGUTn2UKIwGYnlfa2V5lH2UjA9jbG9zZWRfdW50aWxfbXOUSwCMD2VhcmxpZXN0"
    "X2VuZF9tc5ROdYaUYowGYWxlcnRzlIwScGlwZWxpbmVzLmFsZXJ0aW5nlIwLQWxlcnRNZW1vcnmUk5QpgZROfZQo"
    "jAVydWxlc5R9lIwNbGFzdF92YWx1ZV9tc5ROdYaUYnWGlGKMCndhdGVybWFya3OUfZSMCnJlamVjdGlvbnOUjB1w"
    "ZXBldW5pdF9jb3JlLnBpcGVfcmVqZWN0aW9uc5SMDFJlamVjdGlvbkxvZ5STlCmBlE59lCiMDnJlamVjdGVkX2Nv"
    "dW50lEsAjAlieV9yZWFzb26UfZSMBnJlY2VudJQpdYaUYnWGlGIu"
)


def test_a_snapshot_from_the_datetime_clock_resumes() -> None:
    snapshot = pickle.loads(DATETIME_CLOCK_SNAPSHOT)
    assert snapshot.node_memory.filter_memory.last_accepted_ms == START_MS
    node = logic(snapshot)
    out, _ = node.on_batch(messages(b"2", start_s=59) + messages(b"3", start_s=60)[:1])
    assert stored_log(rejection_rows(out)[0]).by_reason == {"Filters.max_rate": 1}
    assert [item.row.state for item in out if not isinstance(item.row, NodeRejectionsRow)] == ["3"]


def test_every_rule_is_explained_with_its_settings() -> None:
    config = pipeline_config(
        {"policy_type": "LastValue"}, type_value_threshold="Range", threshold_min=1,
        threshold_max=5,
    )  # fmt: skip
    kinds = (*rejections.ALL_REJECTIONS, rejections.TOO_LARGE, rejections.INVALID_UTF8,
             rejections.NUL_CHARACTER)  # fmt: skip
    explained = {str(kind): rejections.explain(kind, config) for kind in kinds}
    assert all(text != kind for kind, text in explained.items()), explained
    assert explained["Filters.threshold"] == (
        "outside the threshold (Range: threshold_min 1, threshold_max 5)"
    )
