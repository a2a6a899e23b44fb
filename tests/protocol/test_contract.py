"""The contract helpers and pytest plugin an app's own test suite uses."""

from __future__ import annotations

import msgspec
import pytest

import wsproto_schema as ws
from tests.conftest import SCHEMAS
from wsproto_schema.contract import Contract, ContractViolation


@pytest.fixture(scope="module")
def contract() -> Contract:
    return Contract.from_directory(SCHEMAS)


def test_reports_every_violation_with_its_path(contract: Contract) -> None:
    frame = {
        "type": "node.status",
        "topic": "workflow:w",
        "seq": 0,
        "ts": 1,
        "workflow_id": "w",
        "node_id": 7,
        "status": "done",
        "colour": "red",
    }
    found = [str(v) for v in contract.violations("server", frame)]
    assert found == [
        "$: 'execution_id' is a required property",
        "$: Additional properties are not allowed ('colour' was unexpected)",
        "$.node_id: 7 is not of type 'string'",
        "$.seq: 0 is less than the minimum of 1",
        "$.status: 'done' is not one of ['pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled']",
    ]
    with pytest.raises(ContractViolation) as info:
        contract.assert_server_frame(frame)
    assert len(info.value.violations) == 5
    assert "$.node_id: 7 is not of type 'string'" in str(info.value)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ('{"event": "node.status"}', "$.type: required field is missing (found `event`"),
        ({"type": "node_status_update"}, "$.type: unknown server frame type 'node_status_update'"),
        (b"\x93\x01\x02\x03", "$: a frame is an object, got list"),
        ("{nope", "$: not JSON or MessagePack"),
    ],
)
def test_frame_level_problems(contract: Contract, frame: object, message: str) -> None:
    [violation] = contract.violations("server", frame)
    assert str(violation).startswith(message)


def test_accepts_every_input_form(contract: Contract) -> None:
    frame = ws.Goaway(reason="bye", reconnect_ms=5)
    for form in (
        frame,
        msgspec.to_builtins(frame),
        ws.JsonCodec().encode(frame),
        ws.JsonCodec().encode_bytes(frame),
        ws.MsgpackCodec().encode(frame),
    ):
        contract.assert_server_frame(form)
    with pytest.raises(ContractViolation):
        contract.assert_client_frame(frame)


def test_registry_and_committed_files_agree() -> None:
    generated = Contract.from_registry()
    committed = Contract.from_directory(SCHEMAS)
    assert generated.schema("server") == committed.schema("server")
    assert generated.schema("client") == committed.schema("client")


PLUGIN_TEST = """
import wsproto_schema as ws

def test_server_frames(flowwire_contract):
    flowwire_contract.assert_server_frame({"type": "ping", "ts": 5})
    flowwire_contract.assert_client_frame(ws.Subscribe(topics=["a"]))

def test_catches_a_bad_frame(flowwire_contract):
    flowwire_contract.assert_server_frame({"type": "ping", "ts": "soon"})
"""


def test_pytest_plugin_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(PLUGIN_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*$.ts: 'soon' is not of type 'integer'*"])


def test_pytest_plugin_reads_committed_schemas(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(PLUGIN_TEST)
    pytester.makeini(f"[pytest]\nflowwire_schema_dir = {SCHEMAS}\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
