"""What the benches read of their processes in /proc: CPU time, time waiting for a core,
peak memory, children."""

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path


def read_proc(pid: int, name: str) -> str:
    try:
        return Path(f"/proc/{pid}/{name}").read_text()
    except OSError:
        return ""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (not its children)."""
    stat = read_proc(pid, "stat")
    if not stat:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_queue_seconds(pid: int) -> float:
    """Time the process's threads spent runnable but waiting for a CPU (schedstat)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            total += int((task / "schedstat").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total / 1e9


def peak_rss_mib(pid: int) -> float:
    found = re.search(r"VmHWM:\s+(\d+) kB", read_proc(pid, "status"))
    return int(found.group(1)) / 1024 if found else 0.0


def child_pids(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return children


def intake_pid(flow_pid: int) -> int | None:
    """The flow's intake child (a multiprocessing spawn; the other child is the tracker)."""
    for child in child_pids(flow_pid):
        if "spawn_main" in read_proc(child, "cmdline"):
            return child
    return None


def pid_with_argument(argument: str) -> int | None:
    for entry in Path("/proc").glob("[0-9]*"):
        if argument in read_proc(int(entry.name), "cmdline").split("\0"):
            return int(entry.name)
    return None


@dataclass
class CpuWatch:
    """CPU time of named processes between `start()` and `stop()`, as % of one core: used,
    and spent runnable but waiting for a core (the machine's other load shows there)."""

    pids: dict[str, int]
    _began: dict[str, tuple[float, float]] = field(default_factory=dict)
    _wall: float = 0.0
    used_percent: dict[str, float] = field(default_factory=dict)
    waiting_percent: dict[str, float] = field(default_factory=dict)
    used_seconds: dict[str, float] = field(default_factory=dict)

    def start(self) -> None:
        self._began = {
            name: (cpu_seconds(pid), run_queue_seconds(pid)) for name, pid in self.pids.items()
        }
        self._wall = time.monotonic()

    def stop(self) -> None:
        wall = max(time.monotonic() - self._wall, 1e-9)
        for name, pid in self.pids.items():
            used, waited = self._began[name]
            self.used_seconds[name] = cpu_seconds(pid) - used
            self.used_percent[name] = 100 * self.used_seconds[name] / wall
            self.waiting_percent[name] = 100 * (run_queue_seconds(pid) - waited) / wall
