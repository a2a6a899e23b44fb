"""Subscriptions named by the URL a client connects to (`url_subscriptions` option).

Frontends written for other servers put what they watch in the URL:
`/api/ws/workflow/{workflow_id}`, `/ws/{session_id}`, `?topics=a,b`. A
`UrlSubscription` maps such a path (relative to the mount) and its query
parameters to topics; the connection subscribes to them right after `welcome`
(after `auth`, with first-message auth), authorized as a `subscribe` is, and the
reply carries `ref: "url"`.

    FlowwireApp(url_subscriptions=[
        UrlSubscription("/workflow/{workflow_id}", topics=["workflow:{workflow_id}"]),
        UrlSubscription("/", query="topics"),                # /ws?topics=a,b
    ])
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["URL_REF", "UrlMatch", "UrlSubscription", "match_url"]

URL_REF = "url"
"""The `ref` of the reply (or error) to a subscription the URL asked for."""

_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class UrlMatch:
    """What a connection's URL subscribes it to."""

    topics: tuple[str, ...]
    types: tuple[str, ...] | None = None
    profile: str | None = None


@dataclass(frozen=True)
class UrlSubscription:
    """A path under the mount (with `{name}` parameters) and the topics it subscribes to.

    `topics` are templates filled from the path's parameters (`workflow:{workflow_id}`);
    `query` names a query parameter holding more topics, comma-separated; `types`
    is the event-type filter of the subscription (as `subscribe`'s `types`), and
    `types_query` a query parameter that sets it (`?types=node.*,execution.*`);
    `profile` the wire profile of connections on this path (docs/migrating.md).
    """

    path: str = "/"
    topics: Sequence[str] = ()
    query: str | None = None
    types: Sequence[str] | None = None
    types_query: str | None = None
    profile: str | None = None
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.topics, str):
            raise TypeError(f"UrlSubscription topics takes a list, got {self.topics!r}")
        path = "/" + self.path.strip("/")
        parts = _PARAM.split(path)
        pattern = "".join(
            re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts)
        )
        names = set(_PARAM.findall(path))
        for template in self.topics:
            unknown = set(_PARAM.findall(template)) - names
            if unknown:
                raise ValueError(f"topic {template!r} names {sorted(unknown)}, not in {path!r}")
        object.__setattr__(self, "_regex", re.compile(pattern.rstrip("/") + "/?"))

    def match(self, path: str, query: Mapping[str, list[str]]) -> UrlMatch | None:
        """The topics for this path and query, or None when the path is not this one.
        Raises ValueError for a parameter that would make a pattern (`*`)."""
        found = self._regex.fullmatch(path or "/")
        if found is None:
            return None
        values = found.groupdict()
        for name, value in values.items():
            if "*" in value:
                raise ValueError(f"the URL's {name} may not contain `*`")
        topics = [_PARAM.sub(lambda m: values[m[1]], t) for t in self.topics]
        if self.query is not None:
            topics += _listed(query.get(self.query, []))
        types = list(self.types) if self.types is not None else None
        if self.types_query is not None and (asked := _listed(query.get(self.types_query, []))):
            types = asked
        return UrlMatch(tuple(dict.fromkeys(topics)), tuple(types) if types else None, self.profile)


def _listed(values: list[str]) -> list[str]:
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def match_url(
    subscriptions: Sequence[UrlSubscription], path: str, query: Mapping[str, list[str]]
) -> UrlMatch | None:
    """The first subscription matching the path (relative to the mount), if any, with topics."""
    for subscription in subscriptions:
        found = subscription.match(path, query)
        if found is not None:
            return found
    return None
