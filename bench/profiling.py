"""py-spy recordings of benchmark processes, shared by the benches that offer `--profile`."""

import math
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from tests.services.processes import wait_or_kill


def py_spy() -> str | None:
    return shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))


def start_profilers(
    directory: Path | None, outputs: dict[str, int], seconds: float
) -> list[subprocess.Popen]:
    """Records each pid of `outputs` (output file stem -> pid) for `seconds` into `directory`
    as raw py-spy profiles; nothing without a directory or without py-spy."""
    binary = py_spy() if directory is not None else None
    if directory is None or binary is None:
        if directory is not None:
            print("py-spy not found: no profile", file=sys.stderr)
        return []
    directory.mkdir(parents=True, exist_ok=True)
    processes = []
    for stem, pid in outputs.items():
        command = [binary, "record", "--pid", str(pid), "--duration", str(math.ceil(seconds))]
        # --gil: samples of the thread holding the GIL only (idle detection is unreliable
        # here); C code that releases it (zlib, file I/O) is not seen.
        command += ["--rate", "100", "--gil", "--nonblocking", "--format", "raw"]
        command += ["--output", str(directory / f"{stem}.txt")]
        processes.append(
            subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )
    return processes


def wait_profilers(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        wait_or_kill(process, 60)


ROOT = Path(__file__).resolve().parent.parent


def frame_parts(frame: str) -> tuple[str, str]:
    """py-spy's `function (path:line)` -> (function, path short of site-packages, the stdlib or
    the repository)."""
    function, _, location = frame.rpartition(" (")
    path = location.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/lib/python3.11/", f"{ROOT}/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return function or frame, path


def raw_samples(files: list[Path]) -> Iterator[tuple[list[tuple[str, str]], int]]:
    """Each stack of the raw py-spy profiles (outermost frame first, as `frame_parts`) with
    its sample count."""
    for file in files:
        for line in file.read_text().splitlines():
            stack, _, count_text = line.rpartition(" ")
            frames = [frame_parts(frame) for frame in stack.split(";") if " (" in frame]
            if frames and count_text.isdigit():
                yield frames, int(count_text)


def share_lines(title: str, counts: Counter[str], total: int, top: int) -> list[str]:
    """`title`, then the `top` entries of `counts` as shares of `total` samples."""
    return [title] + [f"  {count / total:6.1%}  {name}" for name, count in counts.most_common(top)]


def summarize_profile(path: Path, top: int = 14) -> list[str]:
    """Shares of GIL-holding samples by innermost frame, and inclusive by function."""
    innermost: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for frames, count in raw_samples([path]):
        names = [f"{file}:{function}" for function, file in frames]
        total += count
        innermost[names[-1]] += count
        for name in set(names):
            inclusive[name] += count
    if not total:
        return ["(no samples)"]
    title = f"{total} samples; innermost frames:"
    return share_lines(title, innermost, total, top) + share_lines(
        "inclusive:", inclusive, total, top
    )
