"""CPU time and resident memory of a process, read from /proc."""

from __future__ import annotations

import os
from dataclasses import dataclass

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Sample:
    cpu: float
    """user + system CPU seconds so far"""
    rss: int
    """resident memory, bytes"""


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time of every thread of the process, to the nanosecond (schedstat), falling
    back to the 10 ms ticks of /proc/<pid>/stat where schedstat is missing."""
    path = f"/proc/{pid or 'self'}"
    try:
        total = 0
        for task in os.listdir(f"{path}/task"):
            with open(f"{path}/task/{task}/schedstat") as schedstat:
                total += int(schedstat.read().split()[0])
        return total / 1e9
    except (FileNotFoundError, ProcessLookupError):
        with open(f"{path}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK


def sample(pid: int | None = None) -> Sample:
    path = f"/proc/{pid or 'self'}"
    with open(f"{path}/statm") as statm:
        rss_pages = int(statm.read().split()[1])
    return Sample(cpu_seconds(pid), rss_pages * PAGE)


def pin(pid: int, cores: set[int]) -> bool:
    """Pin a process to cores when the machine has them; False when it cannot."""
    available = os.sched_getaffinity(0) if pid == 0 else os.sched_getaffinity(pid)
    if not cores <= set(range(os.cpu_count() or 1)) or len(available) < 2:
        return False
    os.sched_setaffinity(pid, cores)
    return True


def raise_fd_limit() -> int:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
