"""The sans-I/O session: data and time in, frames and requests out. No sockets, no asyncio."""

from __future__ import annotations

import msgspec
import pytest

import wsproto_schema as ws
from asgi_plugin.core.actions import (
    AuthenticateRequest,
    Close,
    CommandRequest,
    EngineRequest,
    Leave,
    Send,
    SendEncoded,
    SubscribeRequest,
)
from asgi_plugin.core.catchup import CatchUp
from asgi_plugin.core.session import Session, SessionLimits
from wsproto_schema import CloseCode, ErrorCode

T0 = 1_000.0
JSON = ws.JsonCodec()


def session(**limits: float) -> Session:
    return Session(codec=JSON, connection_id="c1", now=T0, limits=SessionLimits(**limits))  # type: ignore[arg-type]


def frames(actions: list) -> list[ws.Frame]:
    return [a.frame for a in actions if isinstance(a, Send)]


def only_error(actions: list) -> ws.ErrorFrame:
    [frame] = frames(actions)
    assert isinstance(frame, ws.ErrorFrame)
    return frame


def cmd(**frame: object) -> str:
    return msgspec.json.encode(frame).decode()


def test_start_sends_welcome() -> None:
    s = Session(codec=JSON, connection_id="abc", now=T0, server="flowwire/9")
    assert frames(s.start()) == [
        ws.Welcome(
            protocol="flowwire.v1",
            connection_id="abc",
            heartbeat_ms=25_000,
            max_frame_bytes=1_048_576,
            server="flowwire/9",
        )
    ]


def test_subscribe_round_trip_records_state() -> None:
    s = session()
    [request] = s.receive(cmd(type="subscribe", ref="s1", topics=["a", "b", "a", "w:*"]), T0)
    assert request == SubscribeRequest("s1", ("a", "b", "w:*"), {}, True, 3)
    assert s.subscriptions == set()
    position = ws.TopicPosition(epoch="e", seq=4, recovered=False)
    [reply] = frames(s.subscribed(request, {t: CatchUp(position) for t in request.topics}))
    assert reply == ws.Reply(
        ref="s1",
        data={
            "topics": {t: {"epoch": "e", "seq": 4, "recovered": False} for t in ("a", "b", "w:*")}
        },
    )
    assert s.subscriptions == {"a", "b", "w:*"}
    actions = s.receive(cmd(type="unsubscribe", ref="u1", topics=["a", "zzz"]), T0)
    assert actions == [
        Leave(("a",)),
        Send(ws.Reply(ref="u1", data={"topics": ["a"]})),
    ]
    assert s.subscriptions == {"b", "w:*"}


def test_subscribe_keeps_since_of_requested_topics() -> None:
    s = session()
    since = {"a": {"seq": 3, "epoch": "e1"}, "other": {"seq": 1, "epoch": "x"}}
    [request] = s.receive(cmd(type="subscribe", topics=["a"], since=since, snapshot=False), T0)
    assert request.since == {"a": ws.SincePosition(seq=3, epoch="e1")}
    assert request.snapshot is False


@pytest.mark.parametrize(
    ("topic", "problem"),
    [("a*b", "`*` may only end a topic pattern"), ("a\nb", "control characters")],
)
def test_malformed_topics(topic: str, problem: str) -> None:
    error = only_error(session().receive(cmd(type="subscribe", ref="s", topics=["ok", topic]), T0))
    assert (error.code, error.path, error.ref) == (ErrorCode.INVALID_FRAME, "$.topics[1]", "s")
    assert problem in error.message


def test_subscription_limit_counts_pending_requests() -> None:
    s = session(max_subscriptions=3)
    [first] = s.receive(cmd(type="subscribe", topics=["a", "b"]), T0)
    error = only_error(s.receive(cmd(type="subscribe", ref="s2", topics=["c", "d"]), T0))
    assert error.code is ErrorCode.FORBIDDEN
    assert "at most 3 subscriptions" in error.message
    empty = CatchUp(ws.TopicPosition(epoch="", seq=0, recovered=False))
    s.subscribed(first, dict.fromkeys(first.topics, empty))
    [ok] = s.receive(cmd(type="subscribe", topics=["a", "c"]), T0)  # `a` is not new
    assert ok.reserved == 1
    s.fail(ok, ws.ProtocolError(ErrorCode.FORBIDDEN, "no"))
    assert isinstance(s.receive(cmd(type="subscribe", topics=["d"]), T0)[0], SubscribeRequest)


def test_invalid_frames_get_errors_then_close_4000() -> None:
    s = session(max_invalid_frames=3)
    for _ in range(2):
        assert only_error(s.receive("{nope", T0)).code is ErrorCode.INVALID_JSON
    s.receive(cmd(type="unsubscribe", topics=["x"]), T0)  # a valid command resets the count
    for _ in range(2):
        assert len(s.receive(cmd(type="what"), T0)) == 1
    actions = s.receive(cmd(type="subscribe", ref="r9", topics=[1]), T0)
    assert only_error(actions[:1]) == ws.ErrorFrame(
        ref="r9",
        code=ErrorCode.INVALID_FRAME,
        message="$.topics[0]: expected str, got int",
        path="$.topics[0]",
    )
    assert actions[1:] == [Close(CloseCode.PROTOCOL_ERROR, "too many invalid frames")]
    assert s.receive(cmd(type="ping"), T0) == []


def test_oversize_frame_closes_1009() -> None:
    s = session(max_frame_bytes=64)
    actions = s.receive(cmd(type="subscribe", topics=["x" * 100]), T0)
    assert actions == [Close(CloseCode.MESSAGE_TOO_BIG, "$: frame is larger than 64 bytes")]


def test_pings_and_pongs() -> None:
    s = session()
    assert frames(s.receive("ping", T0)) == [ws.Pong()]
    assert frames(s.receive(cmd(type="ping", ts=42), T0)) == [ws.Pong(ts=42)]
    assert s.receive(cmd(type="pong", ts=41), T0) == []


def test_heartbeat_pings_then_times_out() -> None:
    s = session(heartbeat_ms=10_000, heartbeat_timeout_ms=5_000)
    assert s.next_deadline() == T0 + 10
    assert s.on_timer(T0 + 9.9) == []
    assert frames(s.on_timer(T0 + 10)) == [ws.Ping(ts=int((T0 + 10) * 1000))]
    assert s.next_deadline() == T0 + 15  # silence deadline before the next ping
    s.receive(cmd(type="pong", ts=1), T0 + 12)  # any frame counts as a sign of life
    assert s.next_deadline() == T0 + 20
    assert frames(s.on_timer(T0 + 20)) == [ws.Ping(ts=int((T0 + 20) * 1000))]
    assert s.on_timer(T0 + 27) == [Close(CloseCode.HEARTBEAT_TIMEOUT, "heartbeat timeout")]
    assert s.next_deadline() == float("inf")


def test_first_message_auth() -> None:
    s = Session(
        codec=JSON,
        connection_id="c",
        now=T0,
        authenticated=False,
        limits=SessionLimits(auth_timeout_ms=3000),
    )
    assert s.next_deadline() == T0 + 3
    [request] = s.receive(cmd(type="auth", ref="a1", token="t"), T0)
    assert request == AuthenticateRequest("a1", "t")
    [reply] = frames(s.succeed(request, ws.AuthResult(principal={"user": "ada"})))
    assert reply == ws.Reply(ref="a1", data={"principal": {"user": "ada"}})
    assert s.authenticated and s.next_deadline() == T0 + 25


def test_unauthenticated_commands_close_4001() -> None:
    s = Session(codec=JSON, connection_id="c", now=T0, authenticated=False)
    assert frames(s.receive(cmd(type="ping"), T0)) == [ws.Pong()]  # heartbeats are fine
    assert s.receive(cmd(type="subscribe", topics=["a"]), T0) == [
        Close(CloseCode.UNAUTHORIZED, "authenticate first")
    ]


def test_bad_token_and_auth_timeout_close_4001() -> None:
    s = Session(codec=JSON, connection_id="c", now=T0, authenticated=False)
    [request] = s.receive(cmd(type="auth", token="bad"), T0)
    error = ws.ProtocolError(ErrorCode.UNAUTHORIZED, "invalid credentials")
    assert s.fail(request, error) == [Close(CloseCode.UNAUTHORIZED, "invalid credentials")]
    late = Session(
        codec=JSON,
        connection_id="c",
        now=T0,
        authenticated=False,
        limits=SessionLimits(auth_timeout_ms=2000),
    )
    assert late.on_timer(T0 + 2) == [Close(CloseCode.UNAUTHORIZED, "authentication timed out")]


def test_commands_are_rate_limited() -> None:
    s = session(commands_per_second=10, command_burst=3)
    for _ in range(3):
        assert isinstance(
            s.receive(cmd(type="control", execution_id="e", action="stop"), T0)[0], CommandRequest
        )
    error = only_error(
        s.receive(cmd(type="control", ref="c4", execution_id="e", action="stop"), T0)
    )
    assert (error.code, error.ref, error.retry_after_ms) == (ErrorCode.RATE_LIMITED, "c4", 100)
    assert isinstance(
        s.receive(cmd(type="control", execution_id="e", action="stop"), T0 + 0.1)[0], CommandRequest
    )


def test_commands_become_requests_and_failures_echo_ref() -> None:
    s = session()
    [request] = s.receive(cmd(type="input", ref="i1", execution_id="e", node_id="n", value=[1]), T0)
    assert request == CommandRequest(ws.Input(ref="i1", execution_id="e", node_id="n", value=[1]))
    error = ws.ProtocolError(ErrorCode.NOT_FOUND, "no execution 'e'")
    assert frames(s.fail(request, error)) == [
        ws.ErrorFrame(ref="i1", code=ErrorCode.NOT_FOUND, message="no execution 'e'")
    ]
    closing = ws.ProtocolError(ErrorCode.INTERNAL, "x", close_code=CloseCode.INTERNAL_ERROR)
    assert s.fail(request, closing) == [Close(CloseCode.INTERNAL_ERROR, "x")]


def test_msgpack_session() -> None:
    s = Session(codec=ws.MsgpackCodec(), connection_id="c", now=T0)
    [request] = s.receive(msgspec.msgpack.encode({"type": "subscribe", "topics": ["a"]}), T0)
    assert isinstance(request, SubscribeRequest)
    error = only_error(s.receive(b"\xc1", T0))
    assert error.code is ErrorCode.INVALID_JSON
    assert only_error(s.receive('{"type":"ping"}', T0)).code is ErrorCode.INVALID_FRAME


def node_event(seq: int, execution_id: str = "x", topic: str = "a") -> ws.NodeStatus:
    return ws.NodeStatus(
        topic=topic,
        seq=seq,
        workflow_id="w",
        execution_id=execution_id,
        node_id="n",
        status="running",
    )


def test_live_events_wait_behind_the_replay_each_seq_once() -> None:
    s = session()
    [request] = s.receive(
        cmd(type="subscribe", ref="s", topics=["a"], since={"a": {"seq": 2, "epoch": "e"}}), T0
    )
    s.hold(request.topics)
    # Live events arrive while the broker reads the replay: 4 and 5 overlap it, 6 does not.
    for seq in (4, 5, 6):
        assert s.held(node_event(seq), f"live-{seq}")
    assert not s.held(node_event(1, topic="other"), "not ours")
    replay = [node_event(3), node_event(4), node_event(5)]
    catch_up = CatchUp(ws.TopicPosition(epoch="e", seq=5, recovered=True), replay)
    actions = s.subscribed(request, {"a": catch_up})
    assert actions[1:] == [Send(replay[0]), Send(replay[1]), Send(replay[2]), SendEncoded("live-6")]
    # While the connection pushes that (slowly, for a slow client), more live events come:
    # still held, filtered the same way, handed over in the next turn.
    assert s.held(node_event(5), "late-dup") and s.held(node_event(7), "live-7")
    assert s.drain_held() == [SendEncoded("live-7")]
    assert s.drain_held() == [], "nothing more: the catch-up is over"
    assert s.holding is None and s.held(node_event(8), "after") is None


def test_held_events_already_in_a_snapshot_are_not_sent_again() -> None:
    s = session()
    [request] = s.receive(cmd(type="subscribe", topics=["w:*"]), T0)
    s.hold(request.topics)
    s.held(node_event(3, "x", topic="w:1"), "x-3")  # folded into x's snapshot below
    s.held(node_event(4, "y", topic="w:2"), "y-4")  # another execution: sent
    s.held(node_event(5, "x", topic="w:1"), "x-5")  # after the snapshot: sent
    snapshot = ws.ExecutionSnapshot(
        topic="w:1",
        workflow_id="w",
        execution_id="x",
        ts=1,
        status="running",
        nodes={},
        progress=ws.ProgressSnapshot(completed=0, total=1, percent=0.0, running=[]),
        last_seq=3,
    )
    catch_up = CatchUp(ws.TopicPosition(epoch="", seq=0, recovered=False), (), [snapshot])
    actions = s.subscribed(request, {"w:*": catch_up})
    assert actions[1:] == [Send(snapshot), SendEncoded("y-4"), SendEncoded("x-5")]


def test_a_failed_subscribe_leaves_only_new_topics() -> None:
    s = session()
    [first] = s.receive(cmd(type="subscribe", topics=["a"]), T0)
    s.subscribed(first, {"a": CatchUp(ws.TopicPosition(epoch="e", seq=0, recovered=True))})
    [request] = s.receive(cmd(type="subscribe", ref="s2", topics=["a", "b"]), T0)
    s.hold(request.topics)
    s.held(node_event(7, topic="a"), "a-7")  # `a` was subscribed already: still the client's
    s.held(node_event(1, topic="b"), "b-1")  # `b` never was
    actions = s.fail(request, ws.ProtocolError(ErrorCode.INTERNAL, "broker down"))
    assert actions[0] == Leave(("b",))
    assert actions[1] == SendEncoded("a-7")
    assert only_error(actions[2:]).code is ErrorCode.INTERNAL
    assert s.drain_held() == [] and s.holding is None
    assert s.subscriptions == {"a"}


def test_a_full_holding_says_so() -> None:
    s = Session(codec=JSON, connection_id="c", now=T0, limits=SessionLimits(max_held_frames=2))
    [request] = s.receive(cmd(type="subscribe", topics=["a"]), T0)
    s.hold(request.topics)
    assert s.held(node_event(1), "1") and s.held(node_event(2), "2")
    assert s.held(node_event(3), "3") is False, "the connection closes as a slow consumer"


def test_forbidden_topic_names_its_path() -> None:
    s = session()
    [request] = s.receive(cmd(type="subscribe", ref="s", topics=["a", "secret"]), T0)
    actions = s.forbid(request, 1)
    assert actions[0] == Leave(("a", "secret"))
    error = only_error(actions[1:])
    assert (error.code, error.path, error.ref) == (ErrorCode.FORBIDDEN, "$.topics[1]", "s")


def test_execute_that_subscribes_counts_against_the_limit() -> None:
    s = session(max_subscriptions=1)
    workflow = {"id": "etl", "nodes": [{"id": "a", "kind": "sleep"}]}
    [request] = s.receive(cmd(type="execute", ref="x1", workflow=workflow), T0)
    assert isinstance(request, CommandRequest) and request.topic == "workflow:etl"
    # While the handler starts the run, the reserved slot is taken.
    error = only_error(s.receive(cmd(type="subscribe", ref="s", topics=["b"]), T0))
    assert error.code is ErrorCode.FORBIDDEN
    s.hold(("workflow:etl",))
    first = ws.NodeStatus(
        topic="workflow:etl",
        seq=1,
        workflow_id="etl",
        execution_id="r",
        node_id="a",
        status="running",
    )
    assert s.held(first, "first-event")
    actions = s.succeed(request, ws.ExecuteResult(execution_id="r", topic="workflow:etl"))
    assert isinstance(actions[0], Send) and isinstance(actions[0].frame, ws.Reply)
    assert actions[1:] == [SendEncoded("first-event")], "the reply comes before the first event"
    assert s.subscriptions == {"workflow:etl"}
    limited = only_error(
        s.receive(cmd(type="execute", ref="x2", workflow={**workflow, "id": "other"}), T0)
    )
    assert limited.code is ErrorCode.FORBIDDEN
    assert "at most 1 subscriptions" in limited.message


def test_a_failed_execute_leaves_the_topic_it_was_about_to_join() -> None:
    s = session()
    workflow = {"id": "etl", "nodes": [{"id": "a", "kind": "sleep"}]}
    [request] = s.receive(cmd(type="execute", ref="x1", workflow=workflow), T0)
    s.hold(("workflow:etl",))
    actions = s.fail(request, ws.ProtocolError(ErrorCode.INVALID_WORKFLOW, "bad"))
    assert actions[0] == Leave(("workflow:etl",))
    assert only_error(actions[1:]).code is ErrorCode.INVALID_WORKFLOW
    assert s.subscriptions == set()


def test_subscribing_again_to_a_topic_keeps_every_live_event() -> None:
    """A client that subscribes again to a topic it has (without `since`) still gets the
    live events that arrived meanwhile, even those at or below the position read."""
    s = session()
    [first] = s.receive(cmd(type="subscribe", topics=["a"], snapshot=False), T0)
    s.subscribed(first, {"a": CatchUp(ws.TopicPosition(epoch="e", seq=4, recovered=False))})
    [again] = s.receive(cmd(type="subscribe", ref="r", topics=["a"], snapshot=False), T0)
    s.hold(again.topics)
    assert s.held(node_event(5), "live-5")  # published before the position below was read
    actions = s.subscribed(
        again, {"a": CatchUp(ws.TopicPosition(epoch="e", seq=5, recovered=False))}
    )
    assert actions[1:] == [SendEncoded("live-5")], "it never had 5: it must get it"


def test_every_frame_draws_on_one_budget_and_a_flood_closes_4029() -> None:
    s = session(frames_per_second=10, frame_burst=5)
    for _ in range(5):
        assert frames(s.receive(cmd(type="ping"), T0)) == [ws.Pong()]
    assert s.receive(cmd(type="ping"), T0) == [
        Close(CloseCode.FLOODING, "more than 10 frames a second: back off")
    ]


def test_refused_commands_do_not_go_on_for_ever() -> None:
    """Each refused command got an error frame, for ever: now they spend the frame budget."""
    s = session(commands_per_second=1, command_burst=1, frames_per_second=10, frame_burst=20)
    control = cmd(type="control", execution_id="e", action="stop")
    actions = [s.receive(control, T0) for _ in range(21)]
    assert only_error(actions[1]).code is ErrorCode.RATE_LIMITED
    assert actions[-1] == [Close(CloseCode.FLOODING, "more than 10 frames a second: back off")]


def test_a_valid_ping_does_not_reset_the_run_of_invalid_frames() -> None:
    s = session(max_invalid_frames=3)
    s.receive("{nope", T0)
    s.receive(cmd(type="ping"), T0)
    s.receive("{nope", T0)
    s.receive(cmd(type="ping"), T0)
    assert s.receive("{nope", T0)[-1] == Close(CloseCode.PROTOCOL_ERROR, "too many invalid frames")


def test_credentials_that_expire_close_4001_unless_renewed() -> None:
    s = session()
    s.credentials_until(T0 + 5)
    assert s.next_deadline() == T0 + 5
    assert s.on_timer(T0 + 4) == []
    s.credentials_until(T0 + 60)  # a new `auth` came with a fresh token
    assert s.on_timer(T0 + 5) == []
    assert s.on_timer(T0 + 61) == [
        Close(CloseCode.UNAUTHORIZED, "the token expired: authenticate again")
    ]


# -- roles: a user's connection and an engine's -------------------------------------------

ENGINE_FRAMES = [
    {"type": "engine.serve", "ref": "r", "workflows": ["w"]},
    {"type": "engine.claim", "ref": "r", "executions": ["e"]},
    {"type": "engine.publish", "ref": "r", "event": {"type": "node.status"}},
    {"type": "engine.result", "ref": "r", "id": "c1", "data": {}},
]
USER_COMMANDS = [
    {"type": "auth", "ref": "r", "token": "t"},
    {"type": "subscribe", "ref": "r", "topics": ["a"]},
    {"type": "unsubscribe", "ref": "r", "topics": ["a"]},
    {"type": "execute", "ref": "r", "workflow": {"id": "w", "nodes": []}},
    {"type": "control", "ref": "r", "execution_id": "e", "action": "stop"},
    {"type": "input", "ref": "r", "execution_id": "e", "node_id": "n", "value": 1},
    {"type": "list", "ref": "r"},
]


@pytest.mark.parametrize("frame", ENGINE_FRAMES, ids=lambda f: f["type"])
def test_a_users_connection_is_refused_engine_frames(frame: dict[str, object]) -> None:
    s = session()
    error = only_error(s.receive(cmd(**frame), T0))
    assert (error.code, error.ref) == (ErrorCode.FORBIDDEN, "r")
    assert "engine" in error.message


@pytest.mark.parametrize("frame", USER_COMMANDS, ids=lambda f: f["type"])
def test_an_engines_connection_is_refused_user_commands(frame: dict[str, object]) -> None:
    s = Session(codec=JSON, connection_id="e1", now=T0, engine=True)
    error = only_error(s.receive(cmd(**frame), T0))
    assert (error.code, error.ref) == (ErrorCode.FORBIDDEN, "r")
    assert "an engine connection cannot" in error.message


@pytest.mark.parametrize("frame", ENGINE_FRAMES, ids=lambda f: f["type"])
def test_an_engines_frames_leave_as_engine_requests(frame: dict[str, object]) -> None:
    s = Session(codec=JSON, connection_id="e1", now=T0, engine=True)
    [request] = s.receive(cmd(**frame), T0)
    assert isinstance(request, EngineRequest)
    assert ws.frame_tag(type(request.frame)) == frame["type"]
    assert s.receive(cmd(type="ping", ts=5), T0) == [Send(ws.Pong(ts=5))]


def test_the_engine_frames_are_the_engine_frame_union() -> None:
    from typing import get_args

    from asgi_plugin.core.session import ENGINE_FRAMES

    assert set(ENGINE_FRAMES) == set(get_args(ws.EngineFrame))
