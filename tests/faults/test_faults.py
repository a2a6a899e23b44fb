"""Fault injection, small (CI): Redis and app processes killed, clients dropped, while events
flow; every accepted event reaches every subscriber once, or the subscriber was told.

The long run: `python -m bench.soak` (see bench/soak.py); its figures are in the
closing notes and in docs/deploying.md.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.faults.harness import run_faults
from tests.servers.harness import ServerProcess

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.mark.parametrize("mode", ["aof-always", "aof-everysec", "rdb", "none"])
async def test_every_accepted_event_is_delivered_once_or_told(
    mode: str, tmp_path: Path, start_server: Callable[..., ServerProcess]
) -> None:
    report = await run_faults(
        mode, tmp_path, start_server, seconds=8, min_accepted=60, min_faults=4
    )
    print(report.line())
    for name, journal in report.journals.items():
        print(name, *journal[-30:], sep="\n  ")
    assert report.accepted >= 60 and sum(report.faults.values()) >= 4, report.line()
    assert report.ok, "\n".join(
        [report.line(), *report.lost[:10], *report.duplicates[:10], *report.out_of_order[:10]]
    )
    if mode == "aof-always":
        assert report.told_covered == 0, "a Redis that keeps every write never makes clients resync"
