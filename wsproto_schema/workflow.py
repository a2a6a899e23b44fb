"""The structure of a workflow (`WorkflowSpec`): a DAG, checked the same way by servers and clients.

    graph = check_workflow(spec, max_nodes=1000, max_edges=5000)
    graph.order        # a topological order, declaration order among ready nodes

Every problem is a `ProtocolError(INVALID_WORKFLOW)` that names it and points at
the offending field (`$.workflow.edges[2].target: unknown node 'lod'`). What the
nodes' kinds and params mean is the engine's to check, not this module's.
The checks take time linear in the size of the workflow (a heap orders the
ready nodes), so a client-sized workflow cannot stall a server.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass

from .codes import ErrorCode
from .commands import NodeSpec, WorkflowSpec
from .errors import ProtocolError

__all__ = ["WorkflowGraph", "check_workflow", "invalid_workflow"]


def invalid_workflow(path: str, message: str) -> ProtocolError:
    """The error for a workflow that cannot run: `path: message`, with the path."""
    return ProtocolError(ErrorCode.INVALID_WORKFLOW, f"{path}: {message}", path=path)


@dataclass(frozen=True)
class WorkflowGraph:
    """A workflow checked to be a DAG: its nodes by id, a topological order, neighbours."""

    spec: WorkflowSpec
    nodes: dict[str, NodeSpec]
    order: list[str]
    parents: dict[str, list[str]]
    children: dict[str, list[str]]
    edge_ids: dict[tuple[str, str], str | None]
    """(source, target) → the edge's `id`."""


def check_workflow(
    spec: WorkflowSpec,
    *,
    max_nodes: int | None = None,
    max_edges: int | None = None,
    root: str = "$.workflow",
) -> WorkflowGraph:
    """Check that `spec` is a runnable DAG within the limits; `root` is its JSON path."""
    if not spec.nodes:
        raise invalid_workflow(f"{root}.nodes", "a workflow needs at least one node")
    if max_nodes is not None and len(spec.nodes) > max_nodes:
        raise invalid_workflow(
            f"{root}.nodes", f"{len(spec.nodes)} nodes: this server runs at most {max_nodes}"
        )
    if max_edges is not None and len(spec.edges) > max_edges:
        raise invalid_workflow(
            f"{root}.edges", f"{len(spec.edges)} edges: this server runs at most {max_edges}"
        )
    nodes: dict[str, NodeSpec] = {}
    index: dict[str, int] = {}
    for position, node in enumerate(spec.nodes):
        if node.id in nodes:
            other = f"{root}.nodes[{index[node.id]}]"
            raise invalid_workflow(
                f"{root}.nodes[{position}].id", f"duplicate node id {node.id!r} (also at {other})"
            )
        nodes[node.id] = node
        index[node.id] = position
    parents: dict[str, list[str]] = {node_id: [] for node_id in nodes}
    children: dict[str, list[str]] = {node_id: [] for node_id in nodes}
    edge_ids: dict[tuple[str, str], str | None] = {}
    for position, edge in enumerate(spec.edges):
        path = f"{root}.edges[{position}]"
        for end in ("source", "target"):
            if getattr(edge, end) not in nodes:
                raise invalid_workflow(f"{path}.{end}", f"unknown node {getattr(edge, end)!r}")
        if edge.source == edge.target:
            raise invalid_workflow(path, f"node {edge.source!r} depends on itself")
        pair = (edge.source, edge.target)
        if pair in edge_ids:
            raise invalid_workflow(path, f"duplicate edge {edge.source!r} → {edge.target!r}")
        edge_ids[pair] = edge.id
        parents[edge.target].append(edge.source)
        children[edge.source].append(edge.target)
    order = _topological(index, parents, children, root)
    return WorkflowGraph(spec, nodes, order, parents, children, edge_ids)


def _topological(
    index: dict[str, int],
    parents: dict[str, list[str]],
    children: dict[str, list[str]],
    root: str,
) -> list[str]:
    """Kahn's algorithm, declaration order among ready nodes (a heap of declaration
    indexes); a cycle is named."""
    ids = list(index)
    missing = {node: len(parents[node]) for node in ids}
    ready = [index[node] for node in ids if not missing[node]]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        node = ids[heapq.heappop(ready)]
        order.append(node)
        for child in children[node]:
            missing[child] -= 1
            if not missing[child]:
                heapq.heappush(ready, index[child])
    if len(order) < len(ids):
        placed = set(order)
        cycle = _find_cycle([n for n in ids if n not in placed], parents.__getitem__)
        raise invalid_workflow(f"{root}.edges", "the workflow has a cycle: " + " → ".join(cycle))
    return order


def _find_cycle(unsorted: list[str], parents: Callable[[str], list[str]]) -> list[str]:
    """Walk parents among the nodes Kahn's algorithm could not sort (each has one there)."""
    remaining = set(unsorted)
    path = [unsorted[0]]
    on_path = {unsorted[0]: 0}
    while True:
        parent = next(p for p in parents(path[-1]) if p in remaining)
        if parent in on_path:
            loop = [*path[on_path[parent] :], parent]
            return loop[::-1]
        on_path[parent] = len(path)
        path.append(parent)
