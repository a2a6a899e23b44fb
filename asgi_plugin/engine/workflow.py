"""A workflow of an `execute` command, checked to be a runnable DAG.

Every problem becomes an `invalid_workflow` error that names it and points at
the offending field: `$.workflow.edges[2].target: unknown node 'lod'`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

import wsproto_schema as ws
from wsproto_schema import ErrorCode, ProtocolError
from wsproto_schema.errors import error_from_msgspec

__all__ = ["RUNNER_PARAMS", "Dag", "validate_workflow"]

RUNNER_PARAMS = ("retries", "retry_delay_ms")
"""Node params every kind accepts; the runner, not the node, uses them."""


def _invalid(path: str, message: str) -> ProtocolError:
    return ProtocolError(ErrorCode.INVALID_WORKFLOW, f"{path}: {message}", path=path)


@dataclass(frozen=True)
class Dag:
    """A validated workflow: nodes in a topological order, with their neighbours."""

    spec: ws.WorkflowSpec
    nodes: dict[str, ws.NodeSpec]
    order: list[str]
    parents: dict[str, list[str]]
    children: dict[str, list[str]]
    params: dict[str, Any]
    """node id → the kind's parsed params (a Struct, or the raw dict)."""

    def descendants(self, node_id: str) -> list[str]:
        """Every node downstream of `node_id`, in topological order."""
        seen: set[str] = set()
        stack = list(self.children[node_id])
        while stack:
            child = stack.pop()
            if child not in seen:
                seen.add(child)
                stack.extend(self.children[child])
        return [node for node in self.order if node in seen]

    def edge_id(self, source: str, target: str) -> str | None:
        for edge in self.spec.edges:
            if edge.source == source and edge.target == target:
                return edge.id
        return None


def validate_workflow(
    spec: ws.WorkflowSpec, params_types: Mapping[str, type[msgspec.Struct] | None]
) -> Dag:
    """Check `spec` against the known node kinds (kind → params Struct, or None for any)."""
    if not spec.nodes:
        raise _invalid("$.workflow.nodes", "a workflow needs at least one node")
    nodes: dict[str, ws.NodeSpec] = {}
    params: dict[str, Any] = {}
    first_index: dict[str, int] = {}
    for index, node in enumerate(spec.nodes):
        path = f"$.workflow.nodes[{index}]"
        if node.id in nodes:
            other = f"$.workflow.nodes[{first_index[node.id]}]"
            raise _invalid(f"{path}.id", f"duplicate node id {node.id!r} (also at {other})")
        if node.kind not in params_types:
            known = ", ".join(sorted(params_types))
            raise _invalid(f"{path}.kind", f"unknown node kind {node.kind!r} (known: {known})")
        nodes[node.id] = node
        first_index[node.id] = index
        params[node.id] = _params(node, params_types[node.kind], f"{path}.params")
    parents: dict[str, list[str]] = {node_id: [] for node_id in nodes}
    children: dict[str, list[str]] = {node_id: [] for node_id in nodes}
    seen_edges: set[tuple[str, str]] = set()
    for index, edge in enumerate(spec.edges):
        path = f"$.workflow.edges[{index}]"
        for end in ("source", "target"):
            if getattr(edge, end) not in nodes:
                raise _invalid(f"{path}.{end}", f"unknown node {getattr(edge, end)!r}")
        if edge.source == edge.target:
            raise _invalid(path, f"node {edge.source!r} depends on itself")
        if (edge.source, edge.target) in seen_edges:
            raise _invalid(path, f"duplicate edge {edge.source!r} → {edge.target!r}")
        seen_edges.add((edge.source, edge.target))
        parents[edge.target].append(edge.source)
        children[edge.source].append(edge.target)
    order = _topological(list(nodes), parents, children)
    return Dag(spec, nodes, order, parents, children, params)


def _params(node: ws.NodeSpec, kind: type[msgspec.Struct] | None, path: str) -> Any:
    raw = {k: v for k, v in (node.params or {}).items() if k not in RUNNER_PARAMS}
    for name in RUNNER_PARAMS:
        value = (node.params or {}).get(name, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise _invalid(f"{path}.{name}", f"expected an int >= 0, got {value!r}")
    if kind is None:
        return raw
    try:
        return msgspec.convert(raw, kind)
    except msgspec.ValidationError as exc:
        error = error_from_msgspec(exc)
        where = path + (error.path or "$")[1:]
        raise _invalid(where, error.message.partition(": ")[2] or error.message) from exc


def _topological(
    ids: list[str], parents: dict[str, list[str]], children: dict[str, list[str]]
) -> list[str]:
    """Kahn's algorithm, declaration order among ready nodes; a cycle is named."""
    missing = {node: len(parents[node]) for node in ids}
    ready = [node for node in ids if not missing[node]]
    order: list[str] = []
    while ready:
        node = ready.pop(0)
        order.append(node)
        for child in children[node]:
            missing[child] -= 1
            if not missing[child]:
                ready.append(child)
        ready.sort(key=ids.index)
    if len(order) < len(ids):
        cycle = _find_cycle([n for n in ids if n not in order], parents.__getitem__)
        raise _invalid("$.workflow.edges", "the workflow has a cycle: " + " → ".join(cycle))
    return order


def _find_cycle(unsorted: list[str], parents: Callable[[str], list[str]]) -> list[str]:
    """Walk parents among the nodes Kahn's algorithm could not sort (each has one there)."""
    remaining = set(unsorted)
    path = [unsorted[0]]
    while True:
        parent = next(p for p in parents(path[-1]) if p in remaining)
        if parent in path:
            loop = [*path[path.index(parent) :], parent]
            return loop[::-1]
        path.append(parent)
