"""The hub alone (sans I/O): who gets what as subscribers come and go on one topic."""

from __future__ import annotations

import msgspec

import wsproto_schema as ws
from asgi_plugin.core.hub import Hub
from asgi_plugin.core.topics import connection_topic
from tests.plugin.conftest import status


class Sink:
    codec: ws.Codec = ws.JsonCodec()

    def __init__(self) -> None:
        self.seqs: list[int] = []

    def deliver(self, event: object, data: ws.WireData) -> bool:
        self.seqs.append(getattr(event, "seq", 0))
        return True


def event(seq: int) -> ws.Event:
    return msgspec.structs.replace(status(seq), topic="workflow:w", seq=seq)


def test_a_topic_keeps_every_subscriber_as_they_come_and_go() -> None:
    hub: Hub[Sink] = Hub(on_overflow=lambda s: None)
    a, b, c = Sink(), Sink(), Sink()
    hub.subscribe(a, ["workflow:w"])  # alone on the topic
    hub.subscribe(a, ["workflow:w"])  # again: still once
    hub.deliver(event(1))
    hub.subscribe(b, ["workflow:w"])  # a second one joins
    hub.subscribe(c, ["workflow:*"])
    hub.deliver(event(2))
    hub.unsubscribe(a, ["workflow:w"])  # the first leaves
    hub.deliver(event(3))
    hub.unsubscribe(b, ["workflow:w"])
    assert not hub.watched("workflow:w") and hub.watched("workflow:*")
    hub.deliver(event(4))
    assert (a.seqs, b.seqs, c.seqs) == ([1, 2], [2, 3], [2, 3, 4])
    assert hub.subscription_count() == 1 and hub.topic_count() == 1


def test_a_connections_own_topic_reaches_it_alone_and_is_not_counted() -> None:
    hub: Hub[Sink] = Hub(on_overflow=lambda s: None)
    a, b = Sink(), Sink()
    mine = connection_topic("c1")
    hub.subscribe(a, [mine])
    hub.subscribe(b, [connection_topic("c2")])
    assert hub.watched(mine) and list(hub.subscribers(mine)) == [a]
    assert (hub.topic_count(), hub.subscription_count()) == (0, 0)
    hub.remove(a)
    assert not hub.watched(mine) and list(hub.subscribers(mine)) == []
