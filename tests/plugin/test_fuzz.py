"""Fuzzing, small (CI): whatever a client sends, the codecs answer with a `ProtocolError` or a
command, and the session with actions that keep its books straight.

The long run over a real server is `python -m bench.fuzz` (≥100,000 frames beside a
healthy stream).
"""

from __future__ import annotations

import json
import math
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import wsproto_schema as ws
from asgi_plugin.core.actions import (
    AuthenticateRequest,
    Close,
    CommandRequest,
    Leave,
    Send,
    SubscribeRequest,
)
from asgi_plugin.core.catchup import CatchUp
from asgi_plugin.core.session import Session, SessionLimits

pytestmark = [pytest.mark.slow]

SCALARS = st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=8)
PACKABLE = st.recursive(
    SCALARS | st.integers(-(2**63), 2**64 - 1),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
JSON_VALUES = st.recursive(
    SCALARS | st.integers(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
TYPES = st.sampled_from(
    ["subscribe", "unsubscribe", "execute", "control", "input", "auth", "ping", "pong", "jump", ""]
)
FIELDS = st.sampled_from(
    ["ref", "topics", "since", "snapshot", "batch", "workflow", "inputs", "execution_id", "action",
     "node_id", "value", "token", "ts", "idempotency_key", "subscribe", "extra"]
)  # fmt: skip
FRAMES = st.one_of(
    st.binary(max_size=64),
    st.text(max_size=64),
    JSON_VALUES.map(json.dumps),
    st.fixed_dictionaries({"type": TYPES}, optional={"ref": st.text(max_size=4)}).flatmap(
        lambda base: st.dictionaries(FIELDS, JSON_VALUES, max_size=5).map(
            lambda more: json.dumps({**more, **base}, default=str)
        )
    ),
)
CLOSE_CODES = {int(code) for code in ws.CloseCode}


@given(FRAMES)
def test_json_codec_answers_every_frame_with_a_command_or_a_protocol_error(data: Any) -> None:
    try:
        ws.JsonCodec().decode_command(data, max_bytes=4096)
    except ws.ProtocolError as error:
        assert error.code in ws.ErrorCode
        if error.close_code is not None:
            assert int(error.close_code) in CLOSE_CODES


@given(st.one_of(st.binary(max_size=64), PACKABLE.map(lambda v: msgspec.msgpack.encode(v))))
def test_msgpack_codec_answers_every_frame_with_a_command_or_a_protocol_error(data: bytes) -> None:
    try:
        ws.MsgpackCodec().decode_command(data, max_bytes=4096)
    except ws.ProtocolError as error:
        assert error.code in ws.ErrorCode


class SessionMachine(RuleBasedStateMachine):
    """Frames, time, and the outcomes of the session's requests in any order: the session
    never raises, never holds more subscriptions than allowed, never reserves a negative
    count, and closes only with documented codes (after which it does nothing)."""

    @initialize(limit=st.integers(1, 5))
    def start(self, limit: int) -> None:
        self.limits = SessionLimits(
            max_subscriptions=limit, max_invalid_frames=3, frames_per_second=50, frame_burst=30
        )
        self.session = Session(codec=ws.JsonCodec(), connection_id="c", now=0.0, limits=self.limits)
        self.now = 0.0
        self.pending: list[SubscribeRequest | CommandRequest | AuthenticateRequest] = []
        self.closed_with: int | None = None

    def take(self, actions: list[Any]) -> None:
        for action in actions:
            if isinstance(action, Close):
                assert int(action.code) in CLOSE_CODES
                assert self.closed_with is None, "closed twice"
                self.closed_with = int(action.code)
            elif isinstance(action, (SubscribeRequest, CommandRequest, AuthenticateRequest)):
                self.pending.append(action)
            else:
                assert isinstance(action, (Send, Leave)), action

    @rule(data=FRAMES)
    def receive(self, data: Any) -> None:
        self.take(self.session.receive(data, self.now))

    @rule(topics=st.lists(st.sampled_from(["a", "b", "c", "w:*", "workflow:x"]), max_size=4))
    def subscribe(self, topics: list[str]) -> None:
        frame = json.dumps({"type": "subscribe", "ref": "s", "topics": topics})
        self.take(self.session.receive(frame, self.now))

    @rule(step=st.floats(0, 40))
    def time_passes(self, step: float) -> None:
        self.now += step
        self.take(self.session.on_timer(self.now))

    @precondition(lambda self: self.pending)
    @rule(succeed=st.booleans(), index=st.integers(0, 10))
    def answer(self, succeed: bool, index: int) -> None:
        request = self.pending.pop(index % len(self.pending))
        if isinstance(request, SubscribeRequest) and succeed:
            self.session.hold(request.topics)
            position = ws.TopicPosition(epoch="e", seq=1, recovered=False)
            self.take(
                self.session.subscribed(request, dict.fromkeys(request.topics, CatchUp(position)))
            )
        elif isinstance(request, CommandRequest) and succeed:
            self.take(self.session.succeed(request, ws.ControlResult(status="running")))
        else:
            error = ws.ProtocolError(ws.ErrorCode.INTERNAL, "no")
            self.take(self.session.fail(request, error))
        while self.session.drain_held():
            pass

    @invariant()
    def books_are_straight(self) -> None:
        session = self.session
        assert len(session.subscriptions) <= self.limits.max_subscriptions
        assert session._reserved >= 0
        if self.closed_with is not None:
            assert session.closed is not None and session.next_deadline() == math.inf


TestSession = SessionMachine.TestCase
