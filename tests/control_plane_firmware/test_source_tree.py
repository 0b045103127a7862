"""What an exported tree contributes to an archive: `.pepeignore` applied, symlinks shipped as
their targets only when those stay inside the tree, anything else refused."""

import os

import pytest

from control_plane.services.firmware import UnsafeTreeError
from control_plane.services.firmware.source_tree import firmware_files
from tests.control_plane_firmware.builders import write_tree


def _shipped(tree, **options):
    return {file.archive_path: file.source.read_bytes() for file in firmware_files(tree, **options)}


def test_files_are_listed_sorted_with_posix_paths(tmp_path):
    write_tree(tmp_path, {"b.py": "b", "a/z.py": "z", "a/b/c.py": "c"})

    assert [file.archive_path for file in firmware_files(tmp_path)] == [
        "a/b/c.py",
        "a/z.py",
        "b.py",
    ]


def test_replaced_root_files_are_left_out_but_not_nested_ones(tmp_path):
    write_tree(tmp_path, {"env.json": "{}", "lib/env.json": "{}", "main.py": ""})

    assert set(_shipped(tmp_path, replaced_root_files=["env.json"])) == {"lib/env.json", "main.py"}


def test_a_symlink_inside_the_tree_ships_as_its_target(tmp_path):
    write_tree(tmp_path, {"lib/real.py": "real", "shared/cfg.json": "{}"})
    (tmp_path / "alias.py").symlink_to("lib/real.py")
    (tmp_path / "lib" / "shared").symlink_to("../shared", target_is_directory=True)

    assert _shipped(tmp_path) == {
        "alias.py": b"real",
        "lib/real.py": b"real",
        "lib/shared/cfg.json": b"{}",
        "shared/cfg.json": b"{}",
    }


@pytest.mark.parametrize("target", ["/etc/hostname", "../../outside.txt"])
def test_a_symlink_leaving_the_tree_is_refused(tmp_path, target):
    (tmp_path / "outside.txt").write_text("secret")
    tree = write_tree(tmp_path / "tree", {"main.py": ""})
    (tree / "lib").mkdir()
    (tree / "lib" / "leak").symlink_to(target)

    with pytest.raises(UnsafeTreeError, match="lib/leak is a symlink pointing outside"):
        firmware_files(tree)


def test_a_directory_symlink_leaving_the_tree_is_refused(tmp_path):
    write_tree(tmp_path, {"outside/secret.txt": "secret", "tree/main.py": ""})
    (tmp_path / "tree" / "vendor").symlink_to(tmp_path / "outside", target_is_directory=True)

    with pytest.raises(UnsafeTreeError, match="vendor is a symlink pointing outside"):
        firmware_files(tmp_path / "tree")


def test_an_ignored_symlink_is_never_followed(tmp_path):
    tree = write_tree(tmp_path / "tree", {"main.py": "", ".pepeignore": "leak\n"})
    (tree / "leak").symlink_to("/etc/hostname")

    assert set(_shipped(tree)) == {".pepeignore", "main.py"}


def test_a_dangling_symlink_is_refused(tmp_path):
    (tmp_path / "gone.py").symlink_to("missing.py")

    with pytest.raises(UnsafeTreeError, match=r"gone\.py is a symlink to nothing"):
        firmware_files(tmp_path)


def test_a_symlink_loop_is_refused(tmp_path):
    write_tree(tmp_path, {"lib/a.py": ""})
    (tmp_path / "lib" / "again").symlink_to("..", target_is_directory=True)

    with pytest.raises(UnsafeTreeError, match="lib/again is a symlink loop"):
        firmware_files(tmp_path)


def test_a_pepeignore_symlink_leaving_the_tree_is_refused(tmp_path):
    (tmp_path / "rules").write_text("*.py\n")
    tree = write_tree(tmp_path / "tree", {"main.py": ""})
    (tree / ".pepeignore").symlink_to(tmp_path / "rules")

    with pytest.raises(UnsafeTreeError, match=r"\.pepeignore is a symlink pointing outside"):
        firmware_files(tree)


def test_special_files_are_refused(tmp_path):
    os.mkfifo(tmp_path / "pipe")

    with pytest.raises(UnsafeTreeError, match="pipe is neither a regular file nor a directory"):
        firmware_files(tmp_path)


def test_names_that_are_not_utf8_are_refused(tmp_path):
    (tmp_path / os.fsdecode(b"caf\xe9.py")).write_text("")

    with pytest.raises(UnsafeTreeError, match="file names must be UTF-8"):
        firmware_files(tmp_path)


def test_a_pepeignore_that_is_not_utf8_is_refused(tmp_path):
    (tmp_path / ".pepeignore").write_bytes(b"\xff\xfe*")

    with pytest.raises(UnsafeTreeError, match=r"\.pepeignore is not UTF-8"):
        firmware_files(tmp_path)


def test_a_tree_that_is_not_a_directory_is_refused(tmp_path):
    (tmp_path / "file").write_text("")

    with pytest.raises(UnsafeTreeError, match="is not a directory"):
        firmware_files(tmp_path / "file")
