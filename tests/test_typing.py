"""The public API type-checks as documented: mypy --strict accepts correct use and names misuse.

tests/typecheck/usage.py marks each line mypy must reject with `# E: <code>`;
this test runs mypy on it and compares what it reports with the marks.
"""

from __future__ import annotations

import re

import pytest
from mypy import api

from tests.conftest import ROOT

USAGE = ROOT / "tests" / "typecheck" / "usage.py"
MARK = re.compile(r"#\s*E:\s*([a-z-]+)\s*$")
ERROR = re.compile(
    r"^(?P<file>[^:]+):(?P<line>\d+): error: (?P<message>.*)  \[(?P<code>[a-z-]+)\]$"
)


def expected() -> set[tuple[int, str]]:
    marks = set()
    for number, line in enumerate(USAGE.read_text().splitlines(), start=1):
        if match := MARK.search(line):
            marks.add((number, match[1]))
    return marks


@pytest.mark.slow
def test_mypy_accepts_correct_use_and_rejects_each_misuse() -> None:
    stdout, stderr, status = api.run(
        ["--strict", "--no-incremental", "--show-error-codes", "--no-pretty", str(USAGE)]
    )
    assert stderr == "", stderr
    found = set()
    for line in stdout.splitlines():
        if match := ERROR.match(line):
            found.add((int(match["line"]), match["code"]))
    assert found == expected(), stdout
    assert status == 1
