"""A workflow of an `execute` command, checked to be runnable by this runner.

The structure (a DAG within the size limits) is checked by
`wsproto_schema.workflow`, the same code a client uses before it sends a
workflow; here come the node kinds this runner knows and their params. Every
problem becomes an `invalid_workflow` error that names it and points at the
offending field: `$.workflow.nodes[2].params.ms: expected int, got str`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

import wsproto_schema as ws
from wsproto_schema.errors import error_from_msgspec
from wsproto_schema.workflow import WorkflowGraph, check_workflow, invalid_workflow

__all__ = ["RUNNER_PARAMS", "Dag", "validate_workflow"]

RUNNER_PARAMS = {"retries": 10, "retry_delay_ms": 60_000}
"""Node params every kind accepts (the runner, not the node, uses them), with their maxima."""


@dataclass(frozen=True)
class Dag:
    """A validated workflow: its graph, and each node's parsed params."""

    graph: WorkflowGraph
    params: dict[str, Any]
    """node id → the kind's parsed params (a Struct, or the raw dict)."""

    @property
    def spec(self) -> ws.WorkflowSpec:
        return self.graph.spec

    @property
    def nodes(self) -> dict[str, ws.NodeSpec]:
        return self.graph.nodes

    @property
    def order(self) -> list[str]:
        return self.graph.order

    @property
    def parents(self) -> dict[str, list[str]]:
        return self.graph.parents

    @property
    def children(self) -> dict[str, list[str]]:
        return self.graph.children

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
        return self.graph.edge_ids.get((source, target))


def validate_workflow(
    spec: ws.WorkflowSpec,
    params_types: Mapping[str, type[msgspec.Struct] | None],
    *,
    max_nodes: int | None = None,
    max_edges: int | None = None,
) -> Dag:
    """Check `spec` against the known node kinds (kind → params Struct, or None for any)."""
    graph = check_workflow(spec, max_nodes=max_nodes, max_edges=max_edges)
    params: dict[str, Any] = {}
    for index, node in enumerate(spec.nodes):
        path = f"$.workflow.nodes[{index}]"
        if node.kind not in params_types:
            known = ", ".join(sorted(params_types))
            raise invalid_workflow(
                f"{path}.kind", f"unknown node kind {node.kind!r} (known: {known})"
            )
        params[node.id] = _params(node, params_types[node.kind], f"{path}.params")
    return Dag(graph, params)


def _params(node: ws.NodeSpec, kind: type[msgspec.Struct] | None, path: str) -> Any:
    raw = {k: v for k, v in (node.params or {}).items() if k not in RUNNER_PARAMS}
    for name, maximum in RUNNER_PARAMS.items():
        value = (node.params or {}).get(name, 0)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= maximum:
            raise invalid_workflow(
                f"{path}.{name}", f"expected an int from 0 to {maximum}, got {value!r}"
            )
    if kind is None:
        return raw
    try:
        return msgspec.convert(raw, kind)
    except msgspec.ValidationError as exc:
        error = error_from_msgspec(exc)
        where = path + (error.path or "$")[1:]
        raise invalid_workflow(where, error.message.partition(": ")[2] or error.message) from exc
