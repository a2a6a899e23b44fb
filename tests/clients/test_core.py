"""The client's protocol logic without sockets (flowwire.client.core): resume, dedupe, gaps,
resets, commands queued and timed out, heartbeat and watchdog, what each close code does."""

from __future__ import annotations

import pytest

import wsproto_schema as ws
from flowwire.client import (
    ClientCore,
    CommandError,
    CommandInterrupted,
    CommandTimeout,
    ConnectionLost,
    ReconnectPolicy,
    Reset,
    Unauthorized,
)
from flowwire.client.core import Abort, Report, Settle, Stopped
from flowwire.client.state import ExecutionView
from tests.clients.frames import (
    TOPIC,
    connect,
    delivered,
    event,
    last_subscribe,
    sent,
    subscribe_reply,
)


def subscribed(core: ClientCore, epoch: str = "E1", seq: int = 0) -> None:
    core.subscribe([TOPIC])
    ref = last_subscribe(core.take_actions() or connect(core)).ref
    core.receive(subscribe_reply(ref, epoch, seq, recovered=False), 0)
    core.take_actions()


def test_after_welcome_one_subscribe_then_the_commands_queued_meanwhile_in_order() -> None:
    core = ClientCore()
    core.subscribe([TOPIC, "workflow:*"])
    first = core.command(ws.Control(execution_id="x", action="pause"), now=0)
    second = core.command(ws.Input(execution_id="x", node_id="n", value=1), now=0)
    assert core.take_actions() == [], "nothing is sent before the connection is up"
    frames = sent(connect(core))
    assert [type(f) for f in frames] == [ws.Subscribe, ws.Control, ws.Input]
    assert frames[0].topics == [TOPIC, "workflow:*"] and frames[0].since is None
    assert [frames[1].ref, frames[2].ref] == [first, second]


def test_a_reconnect_resumes_each_exact_topic_from_its_last_seq() -> None:
    core = ClientCore()
    subscribed(core, "E1", seq=4)
    for seq in (5, 6):
        core.receive(event(seq), 0)
    core.closed(None, "dropped", 0)
    core.take_actions()
    again = last_subscribe(connect(core))
    assert again.since == {TOPIC: ws.SincePosition(seq=6, epoch="E1")}
    core.receive(subscribe_reply(again.ref, "E1", 8, recovered=True), 0)
    assert not any(isinstance(d, Reset) for d in delivered(core.take_actions()))
    for seq in (6, 7, 8):  # 6 again: a duplicate
        core.receive(event(seq), 0)
    assert [e.seq for e in delivered(core.take_actions())] == [7, 8]


def test_a_gap_resubscribes_with_since_and_drops_events_until_the_replay() -> None:
    core = ClientCore()
    subscribed(core, "E1", seq=0)
    core.receive(event(1), 0)
    core.receive(event(3), 0)  # 2 is missing
    actions = core.take_actions()
    resync = last_subscribe(actions)
    assert resync.topics == [TOPIC]
    assert resync.since == {TOPIC: ws.SincePosition(seq=1, epoch="E1")}
    assert [e.seq for e in delivered(actions)] == [1]
    assert any(isinstance(a, Report) for a in actions), "a gap is never silent"
    core.receive(event(4), 0)  # before the reply: the replay will bring it
    core.receive(subscribe_reply(resync.ref, "E1", 4, recovered=True), 0)
    for seq in (2, 3, 4, 5):
        core.receive(event(seq), 0)
    assert [e.seq for e in delivered(core.take_actions())] == [2, 3, 4, 5]


def test_recovered_false_resets_the_topic_and_the_snapshots_rebuild_it() -> None:
    core = ClientCore()
    subscribed(core, "E1")
    core.receive(event(1, execution="old", status="running"), 0)
    core.receive(event(2, execution="gone"), 0)
    core.closed(1012, "stream reset", 0)
    again = last_subscribe(connect(core))
    core.receive(subscribe_reply(again.ref, "E2", 10, recovered=False), 0)
    snapshot = ExecutionView(TOPIC, "w", "old", status="running").to_snapshot()
    snapshot = ws.ExecutionSnapshot(**{**_fields(snapshot), "last_seq": 12})
    core.receive(snapshot, 0)
    for seq in (11, 12, 13):  # 11, 12 are covered by the snapshot (last_seq 12)
        core.receive(event(seq, execution="old" if seq != 11 else "other"), 0)
    items = delivered(core.take_actions())
    assert items[0] == Reset(TOPIC, 10, "E2")
    assert items[1] is snapshot
    assert [i.seq for i in items[2:]] == [11, 13], "12 is in the snapshot"
    assert set(core.store.views) == {"old", "other"}, "'gone' went with the reset"
    assert core.positions.get(TOPIC).seq == 13  # type: ignore[union-attr]


def test_seqs_a_snapshot_covers_may_be_skipped_without_a_gap() -> None:
    core = ClientCore()
    core.subscribe([TOPIC])
    ref = last_subscribe(connect(core)).ref
    core.receive(subscribe_reply(ref, "E1", 3, recovered=False), 0)
    snap = ExecutionView(TOPIC, "w", "x").to_snapshot()
    core.receive(ws.ExecutionSnapshot(**{**_fields(snap), "last_seq": 6}), 0)
    core.receive(event(7, execution="x"), 0)  # 4..6 were folded into the snapshot
    actions = core.take_actions()
    assert not any(isinstance(a, Report) for a in actions)
    assert [getattr(i, "seq", None) for i in delivered(actions)][-1] == 7


def test_a_topic_seen_only_through_a_pattern_starts_over_when_the_pattern_is_resubscribed() -> None:
    core = ClientCore()
    core.subscribe(["workflow:*"])
    ref = last_subscribe(connect(core)).ref
    core.receive(subscribe_reply(ref, "", 0, recovered=False, topic="workflow:*"), 0)
    core.receive(event(5, topic="workflow:a"), 0)
    core.receive(event(5, topic="workflow:a"), 0)  # a duplicate still
    assert len(delivered(core.take_actions())) == 1
    core.closed(None, "", 0)
    again = last_subscribe(connect(core))
    assert again.since is None
    core.receive(subscribe_reply(again.ref, "", 0, recovered=False, topic="workflow:*"), 0)
    assert Reset("workflow:a") in delivered(core.take_actions())


def test_commands_get_typed_errors_timeouts_and_interruptions() -> None:
    core = ClientCore(command_timeout_ms=1_000)
    connect(core)
    failing = core.command(ws.Control(execution_id="x", action="resume"), now=0)
    core.receive(
        ws.ErrorFrame(
            ref=failing, code=ws.ErrorCode.CONFLICT, message="it is running", path="$.action"
        ),
        0,
    )
    (settle,) = [a for a in core.take_actions() if isinstance(a, Settle)]
    assert isinstance(settle.result, CommandError)
    assert settle.result.code is ws.ErrorCode.CONFLICT
    assert (settle.result.path, settle.result.message) == ("$.action", "it is running")
    in_flight = core.command(ws.Control(execution_id="x", action="pause"), now=0)
    core.take_actions()
    core.closed(None, "dropped", 10)
    settles = {a.ref: a.result for a in core.take_actions() if isinstance(a, Settle)}
    assert isinstance(settles[in_flight], CommandInterrupted)
    queued = core.command(ws.Control(execution_id="x", action="stop"), now=20)
    core.tick(1_019)
    assert core.take_actions() == []
    core.tick(1_020)
    (timeout,) = [a for a in core.take_actions() if isinstance(a, Settle)]
    assert timeout.ref == queued and isinstance(timeout.result, CommandTimeout)
    assert "within 1 s (not connected: the client is reconnecting)" in str(timeout.result)


def test_a_silent_server_is_pinged_then_given_up_on() -> None:
    core = ClientCore(heartbeat_slack_ms=500)
    connect(core, now=0, heartbeat_ms=1_000)
    assert core.next_deadline() == 1_000
    core.tick(999)
    assert sent(core.take_actions()) == []
    core.tick(1_000)
    assert sent(core.take_actions()) == [ws.PingCommand(ts=1_000)]
    assert core.next_deadline() == 1_500
    core.tick(1_500)
    assert [type(a) for a in core.take_actions()] == [Abort]
    core.receive(ws.Ping(ts=7), 2_000)  # too late: the socket is being aborted


def test_a_ping_is_answered_with_its_ts_and_any_frame_feeds_the_watchdog() -> None:
    core = ClientCore(heartbeat_slack_ms=500)
    connect(core, now=0, heartbeat_ms=1_000)
    core.receive(ws.Ping(ts=123), 900)
    assert sent(core.take_actions()) == [ws.PongCommand(ts=123)]
    assert core.next_deadline() == 1_900


@pytest.mark.parametrize("code", [4001, 1008])
def test_refused_credentials_stop_the_client(code: int) -> None:
    core = ClientCore()
    connect(core)
    assert core.closed(code, "invalid credentials", 0) is None
    (stopped,) = [a for a in core.take_actions() if isinstance(a, Stopped)]
    assert isinstance(stopped.error, Unauthorized) and stopped.error.code == code


def test_with_a_token_function_a_refusal_is_retried_once_with_a_fresh_token() -> None:
    core = ClientCore(fresh_tokens=True, random=lambda: 0.5)
    connect(core)
    assert core.closed(4001, "expired", 0) is not None
    core.opened(0, "bad")
    assert core.closed(4001, "invalid credentials", 0) is None, "no loop"


def test_goaway_waits_as_told_and_resets_the_backoff() -> None:
    core = ClientCore(random=lambda: 0.5)
    connect(core)
    core.closed(None, "", 0)
    connect(core)
    core.receive(ws.Goaway(reason="server shutdown", reconnect_ms=2_000), 0)
    assert core.closed(1001, "", 0) == 2_000 + 500
    assert core.attempt == 0


def test_the_close_codes_shape_the_delay() -> None:
    policy = ReconnectPolicy()
    assert policy.delay(1000, 0, 0.5) is None, "1000: the server ended the stream"
    assert policy.delay(4029, 0, 0.0) == policy.slow_floor_ms, "flooding: a longer backoff"
    assert policy.delay(1013, 0, 0.0) == policy.slow_floor_ms
    assert policy.delay(1012, 0, 0.0) == policy.restart_floor_ms
    assert policy.delay(4008, 0, 0.99) < policy.quick_ms, "slow consumer: at once"
    assert policy.delay(4002, 3, 0.99) > policy.quick_ms, "unless it repeats"
    delays = [policy.delay(1006, attempt, 0.999) for attempt in range(12)]
    assert delays == sorted(delays) and delays[-1] == pytest.approx(policy.cap_ms, rel=0.01)
    assert policy.delay(1011, 4, 0.0) == 0, "full jitter: anywhere from 0"


def test_the_client_gives_up_after_give_up_after_ms_without_a_connection() -> None:
    core = ClientCore(give_up_after_ms=3_000, random=lambda: 0.999)
    connect(core)
    now, attempts = 0.0, 0
    while (delay := core.closed(None, "refused", now)) is not None:
        attempts += 1
        now += delay
        core.connecting()
    (stopped,) = [a for a in core.take_actions() if isinstance(a, Stopped)]
    assert isinstance(stopped.error, ConnectionLost)
    assert "gave up reconnecting after 3 s" in str(stopped.error)
    assert attempts >= 2 and now <= 3_000


def _fields(snapshot: ws.ExecutionSnapshot) -> dict[str, object]:
    return {f: getattr(snapshot, f) for f in snapshot.__struct_fields__}


def test_a_command_with_an_idempotency_key_is_sent_again_after_a_lost_connection() -> None:
    """It runs once however often it is sent (the server keeps its first reply by key):
    the connection dropping before the answer costs a resend, not an error."""
    core = ClientCore(command_timeout_ms=10_000)
    connect(core)
    keyed = core.command(ws.Control(execution_id="x", action="pause", idempotency_key="k1"), 0)
    plain = core.command(ws.Control(execution_id="x", action="stop"), 0)
    core.take_actions()
    core.closed(None, "dropped", 10)
    settles = {a.ref: a.result for a in core.take_actions() if isinstance(a, Settle)}
    assert list(settles) == [plain], "only the command without a key is reported lost"
    assert isinstance(settles[plain], CommandInterrupted)
    frames = [f for f in sent(connect(core)) if isinstance(f, ws.Control)]
    assert [(f.ref, f.idempotency_key) for f in frames] == [(keyed, "k1")]
    core.receive(ws.Reply(ref=keyed, data={"status": "paused"}), 20)
    (answer,) = [a for a in core.take_actions() if isinstance(a, Settle)]
    assert answer.ref == keyed and isinstance(answer.result, ws.Reply)
