"""py-spy recordings of benchmark processes, shared by the benches that offer `--profile`."""

import math
import shutil
import subprocess
import sys
from pathlib import Path


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
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
