"""`.pepeignore` follows gitignore rules (docs/compatibility.md#repository-files); git itself is the
oracle."""

import shutil
import subprocess

import pytest

from control_plane.services.firmware import PepeIgnore, PepeIgnoreError
from control_plane.services.firmware.source_tree import firmware_files
from tests.control_plane_firmware.builders import write_tree


@pytest.mark.parametrize(
    ("rules", "path", "is_dir", "ignored"),
    [
        ("*.log", "debug.log", False, True),
        ("*.log", "deep/down/debug.log", False, True),
        ("*.log", "debug.log.txt", False, False),
        ("debug.log", "logs/debug.log", False, True),
        ("/debug.log", "logs/debug.log", False, False),
        ("/debug.log", "debug.log", False, True),
        ("logs/", "logs", True, True),
        ("logs/", "logs", False, False),
        ("logs/", "src/logs/a.txt", False, True),
        ("logs", "src/logs/a.txt", False, True),
        ("src/*.py", "src/a.py", False, True),
        ("src/*.py", "src/sub/a.py", False, False),
        ("src/*.py", "other/src/a.py", False, False),
        ("**/cache", "a/b/cache", True, True),
        ("**/cache", "cache", True, True),
        ("docs/**", "docs/a/b.md", False, True),
        ("docs/**", "docs", True, False),
        ("a/**/b", "a/b", False, True),
        ("a/**/b", "a/x/y/b", False, True),
        ("a/**/b", "a/xb", False, False),
        ("file?.txt", "file1.txt", False, True),
        ("file?.txt", "file10.txt", False, False),
        ("file[0-9].txt", "file7.txt", False, True),
        ("file[!0-9].txt", "file7.txt", False, False),
        ("file[!0-9].txt", "fileA.txt", False, True),
        ("*.log\n!keep.log", "keep.log", False, False),
        ("*.log\n!keep.log\nkeep.log", "keep.log", False, True),
        ("logs/\n!logs/keep.log", "logs/keep.log", False, True),
        ("# *.py", "# *.py", False, False),
        ("\\#notes", "#notes", False, True),
        ("\\!important", "!important", False, True),
        ("name\\ ", "name ", False, True),
        ("name   ", "name", False, True),
        ("\n\n  \n", "anything", False, False),
        ("[abc", "[abc", False, True),
        ("*", "deep/file", False, True),
    ],
)
def test_gitignore_rules(rules, path, is_dir, ignored):
    assert PepeIgnore.parse(rules).is_ignored(path, is_dir=is_dir) is ignored


def test_an_impossible_pattern_names_its_line():
    with pytest.raises(PepeIgnoreError, match=r"\.pepeignore line 2: cannot use pattern '\[z-a\]'"):
        PepeIgnore.parse("ok\n[z-a]\n")


ORACLE_TREE = [
    "main.py",
    "keep.log",
    "app.log",
    "src/a.py",
    "src/b.txt",
    "src/deep/c.py",
    "src/deep/keep.log",
    "docs/index.md",
    "docs/img/logo.png",
    "build/out.o",
    "lib/build/util.py",
    "lib/vendor/pkg/mod.py",
    "tests/test_a.py",
    "notes #1.txt",
    "data/file1.csv",
    "data/file22.csv",
    "cache/x",
    "a/cache/y",
    "README.md",
]
ORACLE_RULES = [
    "*.log\n!keep.log\n",
    "/build\ndocs/**\n!docs/index.md\n",
    "src/*.py\n**/cache/\n",
    "lib/**/pkg\ntests/\ndata/file?.csv\n",
    "*\n!*.py\n!*/\n",
    "src/\n!src/a.py\nREADME.md\n",
    "notes\\ #1.txt\n/*.md\n",
]


@pytest.mark.skipif(shutil.which("git") is None, reason="git is the oracle")
@pytest.mark.parametrize("rules", ORACLE_RULES)
def test_the_same_files_ship_as_git_would_keep(tmp_path, rules):
    tree = write_tree(tmp_path / "tree", dict.fromkeys(ORACLE_TREE, "x"))
    rules_file = tmp_path / "rules"
    rules_file.write_text(rules)
    (tree / ".pepeignore").write_text(rules)
    subprocess.run(["git", "init", "-q", str(tree)], check=True)
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--others", f"--exclude-from={rules_file}"],
        cwd=tree,
        check=True,
        capture_output=True,
    ).stdout.decode()
    kept_by_git = set(listed.split("\0")) - {""}

    # git init's own directory is not part of the tree under test.
    kept = {file.archive_path for file in firmware_files(tree, replaced_root_files=[".git"])}

    assert kept == kept_by_git
