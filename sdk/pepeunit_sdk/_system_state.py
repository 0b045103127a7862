"""The unit's state message (`state/pepeunit`), from the standard library only."""

import os
import time
from pathlib import Path
from typing import TypedDict

__all__ = ["SystemState", "get_system_state"]

_MEMINFO = Path("/proc/meminfo")
_CPU_FREQUENCY_KHZ = Path("/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq")
_CPUINFO = Path("/proc/cpuinfo")


class SystemState(TypedDict):
    millis: int
    """Wall-clock time, ms since the epoch."""
    mem_free: int
    """Bytes of memory available to programs."""
    mem_alloc: int
    """Bytes in use: total minus available."""
    freq: float
    """CPU clock in MHz; 0 when the system does not tell."""
    pu_commit_version: str
    """The program version running (env.json's PU_COMMIT_VERSION)."""


def get_system_state(commit_version: str) -> SystemState:
    total, available = _memory()
    return SystemState(
        millis=time.time_ns() // 1_000_000,
        mem_free=available,
        mem_alloc=max(total - available, 0),
        freq=_cpu_mhz(),
        pu_commit_version=commit_version,
    )


def _memory() -> tuple[int, int]:
    """(total, available) bytes; zeros where neither /proc nor sysconf tells."""
    try:
        fields = dict(line.split(":", 1) for line in _MEMINFO.read_text().splitlines())
        total = int(fields["MemTotal"].split()[0]) * 1024
        available = int(fields["MemAvailable"].split()[0]) * 1024
        return total, available
    except (OSError, KeyError, ValueError):
        pass
    try:
        page = os.sysconf("SC_PAGE_SIZE")
        return os.sysconf("SC_PHYS_PAGES") * page, os.sysconf("SC_AVPHYS_PAGES") * page
    except (AttributeError, OSError, ValueError):
        return 0, 0


def _cpu_mhz() -> float:
    try:
        return int(_CPU_FREQUENCY_KHZ.read_text()) / 1000
    except (OSError, ValueError):
        pass
    try:
        for line in _CPUINFO.read_text().splitlines():
            name, _, value = line.partition(":")
            if name.strip() == "cpu MHz":
                return float(value)
    except (OSError, ValueError):
        pass
    return 0.0
