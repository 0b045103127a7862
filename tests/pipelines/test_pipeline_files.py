"""Pipeline files (docs/pipelines.md#pipeline-files): loading YAML, file-level errors, directory
search, duplicate bindings and unknown top-level keys."""

from pathlib import Path

import pytest

from pipelines.files import (
    CheckReport,
    check_pipeline_files,
    find_pipeline_files,
    load_pipeline_file,
    load_pipeline_text,
)

NODE_A = "5b3c6a1e-8f0e-4c5e-9a57-2f1d3c4b5a60"
NODE_B = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
REPO = Path(__file__).resolve().parents[2]

CONFIG = """\
active_period: {type: Permanent}
filters: {type_input_value: Text, max_rate: 0, max_size: 64}
processing_policy: {policy_type: LastValue}
"""


def pipeline_text(binding: str) -> str:
    return f"{binding}\n{CONFIG}"


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def errors_of(report):
    return [(e.path, e.issue.stage, e.issue.field, e.issue.rule) for e in report.errors]


# --- file-level problems ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        # The second line opens with a tab, which YAML forbids as indentation.
        pytest.param(f"node: {NODE_A}\n\tfilters: x\n", 2, 1, id="tab"),
        # An unclosed flow mapping: the parser fails at the ':' after `filters` (column 8).
        pytest.param("active_period: {type: Permanent\nfilters: x\n", 2, 8, id="unclosed-flow"),
        # A quoted scalar followed by more text on line 3.
        pytest.param(f'node: {NODE_A}\nunit: x\ntopic: "a" b\n', 3, 12, id="text-after-quote"),
    ],
)
def test_yaml_syntax_error_is_a_file_error_with_line_and_column(tmp_path, text, line, column):
    path = write(tmp_path / "broken.yaml", text)
    report = check_pipeline_files([path])
    assert errors_of(report) == [(path, "File", "yaml", "yaml_syntax")]
    message = report.errors[0].issue.message
    assert message.startswith("Not valid YAML")
    assert f"line {line}, column {column}" in message
    assert report.errors[0].line == line
    assert report.files == []


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        pytest.param("", "empty", id="empty"),
        pytest.param("\n\n   \n", "empty", id="blank-lines"),
        pytest.param("# only a comment\n", "empty", id="comment-only"),
        pytest.param("---\n", "empty", id="empty-document"),
        pytest.param("- node: x\n- filters: y\n", "list", id="list"),
        pytest.param("just a string\n", "str", id="scalar"),
    ],
)
def test_document_that_is_not_a_mapping(tmp_path, text, kind):
    path = write(tmp_path / "p.yaml", text)
    report = check_pipeline_files([path])
    assert errors_of(report) == [(path, "File", "document", "type")]
    assert kind in report.errors[0].issue.message
    assert "mapping" in report.errors[0].issue.message


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"\xff\xfe\x00n\x00o\x00", id="utf-16-bom"),
        pytest.param(pipeline_text(f"node: {NODE_A}").encode() + b"# caf\xe9\n", id="latin-1"),
    ],
)
def test_non_utf8_file_is_a_read_error(tmp_path, content):
    path = write(tmp_path / "p.yaml", content)
    report = check_pipeline_files([path])
    assert errors_of(report) == [(path, "File", "read", "read")]
    assert "Cannot read the file" in report.errors[0].issue.message


def test_missing_file_given_explicitly_is_a_read_error(tmp_path):
    path = tmp_path / "gone.yaml"
    report = check_pipeline_files([path])
    assert errors_of(report) == [(path, "File", "read", "read")]


def test_dangling_symlink_given_explicitly_is_a_read_error(tmp_path):
    path = tmp_path / "link.yaml"
    path.symlink_to(tmp_path / "nowhere.yaml")
    report = check_pipeline_files([path])
    assert errors_of(report) == [(path, "File", "read", "read")]


def test_multiple_yaml_documents_in_one_file_is_an_error(tmp_path):
    path = write(tmp_path / "p.yaml", pipeline_text(f"node: {NODE_A}") + "---\nnode: x\n")
    report = check_pipeline_files([path])
    assert [(e.issue.stage, e.issue.field) for e in report.errors] == [("File", "yaml")]


def test_file_error_does_not_stop_the_other_files(tmp_path):
    bad = write(tmp_path / "a.yaml", "key: [unclosed\n")
    good = write(tmp_path / "b.yaml", pipeline_text(f"node: {NODE_A}"))
    report = check_pipeline_files([tmp_path])
    assert [e.path for e in report.errors] == [bad]
    assert [f.path for f in report.files] == [good]
    assert not report.ok


# --- directory search ------------------------------------------------------------------------


def test_directory_search_finds_yaml_and_yml_recursively(tmp_path):
    wanted = [
        write(tmp_path / "a.yaml", pipeline_text(f"node: {NODE_A}")),
        write(tmp_path / "b.yml", pipeline_text(f"node: {NODE_B}")),
        write(tmp_path / "sub" / "c.yaml", pipeline_text("unit: u1\ntopic: t/pepeunit")),
        write(tmp_path / "sub" / "deeper" / "d.yml", pipeline_text("unit: u2\ntopic: t/pepeunit")),
        write(tmp_path / "dir.yaml" / "e.yaml", pipeline_text("unit: u3\ntopic: t/pepeunit")),
    ]
    # Not pipeline files: other suffixes, backups, and a directory whose name ends in .yaml.
    for name in ("notes.txt", "x.json", "README.md", "a.yaml.bak", "yaml", "sub/f.yaml~"):
        write(tmp_path / name, "this: [is not: valid yaml\n")
    found = find_pipeline_files([tmp_path])
    assert sorted(found) == sorted(wanted)
    assert tmp_path / "dir.yaml" not in found
    report = check_pipeline_files([tmp_path])
    assert report.errors == []
    assert sorted(f.path for f in report.files) == sorted(wanted)


def test_directory_search_skips_hidden_folders(tmp_path):
    wanted = write(tmp_path / "a.yaml", pipeline_text(f"node: {NODE_A}"))
    write(tmp_path / ".github" / "workflows" / "ci.yml", "on: [push]\n")
    write(tmp_path / ".git" / "x.yaml", "not: a pipeline\n")
    assert find_pipeline_files([tmp_path]) == [wanted]
    hidden_root = tmp_path / ".pipelines"
    inner = write(hidden_root / "b.yaml", pipeline_text(f"node: {NODE_B}"))
    assert find_pipeline_files([hidden_root]) == [inner]


def test_directory_search_order_is_stable(tmp_path):
    for name in ("z.yaml", "a.yml", "m/b.yaml", "c.yaml"):
        write(tmp_path / name, "{}")
    first = find_pipeline_files([tmp_path])
    assert first == find_pipeline_files([tmp_path])
    assert first == sorted(first)


def test_explicit_files_and_directories_can_be_mixed(tmp_path):
    single = write(tmp_path / "single.yaml", pipeline_text(f"node: {NODE_A}"))
    folder = tmp_path / "folder"
    inner = write(folder / "inner.yml", pipeline_text(f"node: {NODE_B}"))
    assert find_pipeline_files([single, folder]) == [single, inner]


def test_empty_directory_finds_nothing(tmp_path):
    write(tmp_path / "notes.txt", "hello")
    assert find_pipeline_files([tmp_path]) == []
    report = check_pipeline_files([tmp_path])
    assert report.files == []
    assert report.errors == []


def test_repository_examples_are_valid():
    report = check_pipeline_files([REPO / "examples" / "pipeline-files"])
    assert report.errors == []
    assert report.warnings == []
    assert {f.path.name for f in report.files} == {
        "door-events.yaml",
        "greenhouse-temperature.yaml",
        "humidity-window.yaml",
        "pump-status.yaml",
    }


def test_loaded_file_carries_binding_and_config(tmp_path):
    path = write(tmp_path / "p.yaml", pipeline_text(f"node: {NODE_A.upper()}"))
    loaded = load_pipeline_file(path)
    assert loaded is not None
    assert loaded.path == path
    assert loaded.binding is not None
    assert loaded.binding.node_uuid == NODE_A
    assert loaded.config.filters.max_size == 64


# --- duplicate bindings ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "field"),
    [
        pytest.param(f"node: {NODE_A}", f"node: {NODE_A}", "node", id="same-node"),
        pytest.param(f"node: {NODE_A}", f"node: {NODE_A.upper()}", "node", id="uuid-case"),
        pytest.param(
            f"node: {NODE_A}", f"node: {NODE_A.replace('-', '')}", "node", id="uuid-no-dashes"
        ),
        pytest.param(
            "unit: pump\ntopic: status/pepeunit",
            "unit: pump\ntopic: status/pepeunit",
            "topic",
            id="same-unit-topic",
        ),
    ],
)
def test_two_files_binding_the_same_node(tmp_path, first, second, field):
    first_path = write(tmp_path / "a.yaml", pipeline_text(first))
    second_path = write(tmp_path / "b.yaml", pipeline_text(second))
    report = check_pipeline_files([tmp_path])
    assert errors_of(report) == [(second_path, "Binding", field, "unique")]
    message = report.errors[0].issue.message
    assert str(first_path) in message
    assert "already bound" in message


def test_every_later_duplicate_names_the_first_file(tmp_path):
    paths = [write(tmp_path / f"{n}.yaml", pipeline_text(f"node: {NODE_A}")) for n in "abc"]
    report = check_pipeline_files([tmp_path])
    assert errors_of(report) == [
        (paths[1], "Binding", "node", "unique"),
        (paths[2], "Binding", "node", "unique"),
    ]
    assert all(str(paths[0]) in e.issue.message for e in report.errors)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (f"node: {NODE_A}", f"node: {NODE_B}"),
        ("unit: pump\ntopic: status/pepeunit", "unit: pump\ntopic: level/pepeunit"),
        ("unit: pump-1\ntopic: status/pepeunit", "unit: pump-2\ntopic: status/pepeunit"),
    ],
)
def test_different_bindings_are_not_duplicates(tmp_path, first, second):
    write(tmp_path / "a.yaml", pipeline_text(first))
    write(tmp_path / "b.yaml", pipeline_text(second))
    report = check_pipeline_files([tmp_path])
    assert report.errors == []
    assert len(report.files) == 2


def test_invalid_file_does_not_claim_its_node(tmp_path):
    write(
        tmp_path / "a.yaml", pipeline_text(f"node: {NODE_A}").replace("max_rate: 0", "max_rate: -1")
    )
    write(tmp_path / "b.yaml", pipeline_text(f"node: {NODE_A}"))
    report = check_pipeline_files([tmp_path])
    assert [(e.path.name, e.issue.stage, e.issue.field) for e in report.errors] == [
        ("a.yaml", "Filters", "max_rate")
    ]


# --- unknown keys ----------------------------------------------------------------------------


def test_unknown_top_level_key_is_a_warning_not_an_error(tmp_path):
    path = write(
        tmp_path / "p.yaml", pipeline_text(f"node: {NODE_A}\nfilter:\n  max_rate: 5\nowner: ops")
    )
    report = check_pipeline_files([path])
    assert report.ok
    assert report.errors == []
    assert len(report.files) == 1
    assert len(report.warnings) == 2
    for key, warning in zip(("filter", "owner"), report.warnings, strict=True):
        assert str(path) in warning
        assert repr(key) in warning
        assert "warning" in warning


def test_known_keys_give_no_warning(tmp_path):
    text = pipeline_text(f"node: {NODE_A}") + "transformations: null\n"
    report = check_pipeline_files([write(tmp_path / "p.yaml", text)])
    assert report.warnings == []
    assert report.ok


def test_max_payload_size_reaches_every_file(tmp_path):
    write(tmp_path / "a.yaml", pipeline_text(f"node: {NODE_A}"))  # max_size 64
    assert check_pipeline_files([tmp_path], max_payload_size=64).ok
    report = check_pipeline_files([tmp_path], max_payload_size=63)
    assert [(e.issue.stage, e.issue.field, e.issue.rule) for e in report.errors] == [
        ("Filters", "max_size", "less_than_equal")
    ]


def test_a_text_in_hand_is_checked_as_a_file_is(tmp_path):
    text = CONFIG.replace("max_rate: 0", "max_rate: -1")
    from_file = check_pipeline_files([write(tmp_path / "draft.yaml", text)], require_binding=False)
    report = CheckReport()
    loaded = load_pipeline_text(Path("draft.yaml"), text, require_binding=False, report=report)
    assert loaded is None
    assert [(e.line, str(e.issue)) for e in report.errors] == [
        (e.line, str(e.issue)) for e in from_file.errors
    ]
    assert report.errors[0].line == 2
    assert load_pipeline_text(Path("draft.yaml"), CONFIG, require_binding=False) is not None


def test_a_text_nested_too_deeply_is_a_file_error():
    report = CheckReport()
    assert load_pipeline_text(Path("deep.yaml"), "[" * 100_000, report=report) is None
    assert errors_of(report) == [(Path("deep.yaml"), "File", "yaml", "yaml_depth")]
