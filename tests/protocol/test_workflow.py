"""The structural checks of a workflow, shared by servers and clients (wsproto_schema.workflow)."""

from __future__ import annotations

import pytest

import wsproto_schema as ws
from wsproto_schema.workflow import check_workflow


def spec(nodes: list[str], edges: list[tuple[str, str]] = ()) -> ws.WorkflowSpec:  # type: ignore[assignment]
    return ws.WorkflowSpec(
        id="w",
        nodes=[ws.NodeSpec(id=n, kind="sleep") for n in nodes],
        edges=[ws.EdgeSpec(source=s, target=t, id=f"{s}-{t}") for s, t in edges],
    )


def error(workflow: ws.WorkflowSpec, **limits: int) -> tuple[str | None, str]:
    with pytest.raises(ws.ProtocolError) as caught:
        check_workflow(workflow, **limits)
    assert caught.value.code is ws.ErrorCode.INVALID_WORKFLOW
    return caught.value.path, caught.value.message


def test_order_is_topological_with_declaration_order_among_ready_nodes() -> None:
    graph = check_workflow(spec(["d", "b", "a", "c"], [("a", "c"), ("b", "c"), ("c", "d")]))
    assert graph.order == ["b", "a", "c", "d"]
    assert graph.parents["c"] == ["a", "b"] and graph.children["c"] == ["d"]
    assert graph.edge_ids[("a", "c")] == "a-c"


@pytest.mark.parametrize(
    ("workflow", "path", "text"),
    [
        (spec([]), "$.workflow.nodes", "at least one node"),
        (
            spec(["a", "b", "a"]),
            "$.workflow.nodes[2].id",
            "duplicate node id 'a' (also at $.workflow.nodes[0])",
        ),
        (spec(["a"], [("a", "zz")]), "$.workflow.edges[0].target", "unknown node 'zz'"),
        (spec(["a"], [("a", "a")]), "$.workflow.edges[0]", "depends on itself"),
        (spec(["a", "b"], [("a", "b"), ("a", "b")]), "$.workflow.edges[1]", "duplicate edge"),
        (
            spec(["a", "b", "c", "x"], [("x", "a"), ("a", "b"), ("b", "c"), ("c", "a")]),
            "$.workflow.edges",
            "cycle: a → b → c → a",
        ),
    ],
)
def test_each_problem_names_its_field(workflow: ws.WorkflowSpec, path: str, text: str) -> None:
    where, message = error(workflow)
    assert where == path and text in message


def test_size_limits() -> None:
    assert error(spec(["a", "b", "c"]), max_nodes=2) == (
        "$.workflow.nodes",
        "$.workflow.nodes: 3 nodes: this server runs at most 2",
    )
    assert (
        error(spec(["a", "b", "c"], [("a", "b"), ("b", "c")]), max_edges=1)[0] == "$.workflow.edges"
    )
    check_workflow(spec(["a", "b"], [("a", "b")]), max_nodes=2, max_edges=1)


def test_a_long_chain_and_a_wide_fan_are_ordered() -> None:
    """20,000 nodes, as a chain and as independent nodes: each in declaration order (this
    would take hours with a sort of the ready nodes at every step)."""
    count = 20_000
    chain = spec(
        [f"n{i}" for i in range(count)], [(f"n{i}", f"n{i + 1}") for i in range(count - 1)]
    )
    assert check_workflow(chain).order == [f"n{i}" for i in range(count)]
    wide = spec([f"n{i}" for i in range(count)])
    assert check_workflow(wide).order == [f"n{i}" for i in range(count)]
