"""`GET …/metrics`: the app's counters in the Prometheus text format.

Built on `prometheus-client`, an optional dependency (`pip install
'flowwire[metrics]'`); without it the endpoint answers 404 saying so, and
`GET …/stats` (JSON) still works. Every app has a registry of its own, not the
library's global one, so two apps in one process never clash; register more
collectors on `app.metrics.registry` if you like.

The counters are read from the app's `Stats` when Prometheus scrapes (nothing
extra on the hot path); only the publish→deliver latency is observed as events
arrive, once per event and process, not per subscriber.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, Protocol

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .stats import Stats

__all__ = ["CONTENT_TYPE", "LATENCY_BUCKETS", "Metrics", "MetricsSource"]

CONTENT_TYPE = CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Seconds from an event's `ts` to its fan-out in this process: sub-millisecond for
the memory broker, a few milliseconds through Redis; seconds mean trouble."""


class MetricsSource(Protocol):
    """What the metrics read: the runtime's counters and its JSON stats."""

    stats: Stats

    def snapshot_stats(self) -> dict[str, Any]: ...


class Metrics:
    """One app's Prometheus registry: its counters, gauges and latency histogram."""

    def __init__(self, source: MetricsSource) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_Collector(source))
        self.latency = Histogram(
            "flowwire_delivery_latency_seconds",
            "Time from an event's publication (its ts) to its fan-out in this process.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def delivered(self, ts_ms: int) -> None:
        """An event stamped `ts_ms` (milliseconds since the epoch) reaches the hub now."""
        self.latency.observe(max(0.0, time.time() - ts_ms / 1000))

    def exposition(self) -> bytes:
        """The text a Prometheus scrape gets."""
        return generate_latest(self.registry)


class _Collector(Collector):
    def __init__(self, source: MetricsSource) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        snapshot = self.source.snapshot_stats()
        stats = self.source.stats
        broker = snapshot["broker"]
        yield _gauge("connections", "Open WebSocket connections.", snapshot["connections"])
        yield _counter(
            "connections_opened", "WebSocket connections accepted.", stats.connections_opened
        )
        yield _gauge(
            "subscriptions", "Subscriptions (topics and patterns) held.", snapshot["subscriptions"]
        )
        yield _gauge("topics", "Distinct topics and patterns subscribed to.", snapshot["topics"])
        yield _counter(
            "events_published", "Events published through this process.", stats.published
        )
        yield _counter(
            "events_delivered",
            "Events handed to subscribers (one per subscriber).",
            snapshot["deliveries"],
        )
        yield _counter("frames_sent", "Frames written to clients.", stats.frames_sent)
        yield _counter("bytes_sent", "Bytes written to clients.", stats.bytes_sent)
        yield _counter(
            "frames_dropped",
            "Frames dropped: queued for a connection closed before they went out.",
            stats.frames_dropped,
        )
        yield _counter(
            "slow_consumer_closes",
            "Connections closed 4008: their queue passed its bound.",
            stats.slow_consumer_closes,
        )
        yield _counter(
            "stalled_closes",
            "Connections given up: a send waited past send_timeout_ms.",
            stats.stalled_closes,
        )
        yield _gauge(
            "queue_depth",
            "Frames queued for the most backed-up connection now.",
            snapshot["queue_depth_now"],
        )
        yield _gauge(
            "queue_depth_max",
            "The most frames ever queued for one connection.",
            snapshot["max_queue_depth"],
        )
        yield _labelled(
            "handshakes_refused",
            "WebSocket handshakes refused, by reason.",
            "reason",
            stats.refusals,
        )
        yield _labelled("commands", "Commands received, by type.", "command", stats.commands)
        yield _labelled("command_errors", "Error frames sent, by code.", "code", stats.errors)
        yield _labelled(
            "disconnects",
            "Connections ended, by close code.",
            "code",
            stats.disconnects,
        )
        yield _labelled(
            "hook_failures", "Lifecycle hooks that raised, by hook.", "hook", stats.hook_failures
        )
        yield _gauge(
            "broker_up", "1 while the broker is reachable, else 0.", 1 if broker.get("ok") else 0
        )
        yield _counter(
            "broker_reconnect_attempts",
            "Attempts to reconnect to the broker after losing it.",
            broker.get("reconnects", 0),
        )
        yield _gauge("uptime_seconds", "Seconds since the app was created.", snapshot["uptime_s"])


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"flowwire_{name}", documentation, value=value)


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(f"flowwire_{name}", documentation, value=value)


def _labelled(
    name: str, documentation: str, label: str, counts: dict[str, int]
) -> CounterMetricFamily:
    family = CounterMetricFamily(f"flowwire_{name}", documentation, labels=[label])
    for key, count in sorted(counts.items()):
        family.add_metric([key], count)
    return family
