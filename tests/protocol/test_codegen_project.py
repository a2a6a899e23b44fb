"""`flowwire codegen` and the pytest plugin in a user's project (a directory outside the
checkout, with its own events module): `--check` works there, mistakes are one line (never a
traceback), and the contract fixture can be told the app's event modules."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EVENTS = """
import wsproto_schema as ws


@ws.register_event
class Deployed(ws.Event, tag="myapp.deployed", frozen=True, kw_only=True):
    release: str
"""

UNSUPPORTED = """
import wsproto_schema as ws


@ws.register_event
class Odd(ws.Event, tag="myapp.odd", frozen=True, kw_only=True):
    value: complex
"""


def flowwire(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed `flowwire` command, run in the project as its user would."""
    command = Path(sys.executable).parent / "flowwire"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FLOWWIRE_")}
    return subprocess.run(
        [str(command), *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, **env},
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "myapp").mkdir()
    (tmp_path / "myapp" / "__init__.py").write_text("")
    (tmp_path / "myapp" / "events.py").write_text(EVENTS)
    (tmp_path / "myapp" / "odd.py").write_text(UNSUPPORTED)
    return tmp_path


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_the_readme_lines_work_in_a_users_project(project: Path) -> None:
    out = "frontend/src/generated"
    generate = flowwire(project, "codegen", "--module", "myapp.events", "--out", out)
    assert generate.returncode == 0, generate.stderr
    check = flowwire(project, "codegen", "--module", "myapp.events", "--out", out, "--check")
    assert (check.returncode, check.stderr) == (0, ""), check.stderr
    # The same from the environment, as a CI job would set it.
    env_check = flowwire(
        project, "codegen", "--check", FLOWWIRE_MODULE="myapp.events", FLOWWIRE_OUT=out
    )
    assert env_check.returncode == 0, env_check.stderr
    # Forgetting the module: stale, and the hint says why.
    forgot = flowwire(project, "codegen", "--out", out, "--check")
    assert forgot.returncode == 1
    assert "myapp.deployed" in forgot.stderr and "--module" in forgot.stderr


def test_missing_files_are_missing_not_stale(project: Path) -> None:
    result = flowwire(project, "codegen", "--check", "--out", "nowhere")
    assert result.returncode == 1
    assert f"missing: {Path('nowhere') / 'flowwire.ts'}" in result.stderr
    assert "stale" not in result.stderr


def test_a_module_that_cannot_be_imported_is_one_line(project: Path) -> None:
    line = one_line_error(flowwire(project, "codegen", "--module", "myapp.nope"))
    assert line.startswith("flowwire codegen: cannot import --module 'myapp.nope'")


def test_a_field_type_codegen_cannot_express_is_one_line_naming_the_field(project: Path) -> None:
    line = one_line_error(flowwire(project, "codegen", "--module", "myapp.odd", "--out", "x"))
    assert line.startswith("flowwire codegen: Odd.value: ")
    assert not (project / "x").exists()


PLUGIN_TEST = """
def test_app_event(flowwire_contract):
    flowwire_contract.assert_server_frame(
        {"type": "myapp.deployed", "topic": "workflow:w", "seq": 1, "ts": 1,
         "workflow_id": "w", "execution_id": "e", "release": "v2"}
    )
"""


@pytest.mark.parametrize("how", ["ini", "flag"])
def test_the_pytest_plugin_takes_the_apps_event_modules(
    pytester: pytest.Pytester, project: Path, how: str
) -> None:
    shutil.copytree(project / "myapp", pytester.path / "myapp")  # the user's package
    pytester.makepyfile(PLUGIN_TEST)
    args = ["-p", "no:cacheprovider"]
    if how == "ini":
        pytester.makeini("[pytest]\nflowwire_event_modules =\n    myapp.events\n")
    else:
        args += ["--flowwire-event-module", "myapp.events"]
    result = pytester.runpytest_subprocess(*args)
    result.assert_outcomes(passed=1)


def test_without_the_module_the_app_event_is_unknown(
    pytester: pytest.Pytester, project: Path
) -> None:
    shutil.copytree(project / "myapp", pytester.path / "myapp")
    pytester.makepyfile(PLUGIN_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*unknown server frame type 'myapp.deployed'*"])


def test_the_pytest_plugin_names_jsonschema_when_it_is_missing(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("import sys\nsys.modules['jsonschema'] = None\n")
    pytester.makepyfile(PLUGIN_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    assert "need jsonschema: pip install 'flowwire[contract]'" in result.stdout.str()
