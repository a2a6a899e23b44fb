"""pytest plugin (auto-loaded once flowwire is installed): the `flowwire_contract` fixture.

    def test_my_server_speaks_flowwire(flowwire_contract):
        for frame in frames_my_server_sent:
            flowwire_contract.assert_server_frame(frame)

By default the schemas are generated from the Structs, including every event
your app registered: name the modules that register them with the ini option
`flowwire_event_modules` (one per line) or `--flowwire-event-module myapp.events`
(repeatable). Set the ini option `flowwire_schema_dir = "schemas"` to check
against committed generated files instead. Needs `jsonschema` (`pip install
'flowwire[contract]'`).
"""

from __future__ import annotations

import importlib

import pytest

from .contract import Contract

__all__ = ["flowwire_contract", "pytest_addoption"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "flowwire_schema_dir",
        "directory of generated flowwire schemas to validate frames against "
        "(default: generate them from the registered Structs)",
        default="",
    )
    parser.addini(
        "flowwire_event_modules",
        "modules that register your app's events, imported before the schemas are generated",
        type="linelist",
        default=[],
    )
    parser.addoption(
        "--flowwire-event-module",
        action="append",
        default=[],
        metavar="PKG.MOD",
        help="a module that registers your app's events (repeatable; adds to the ini option)",
    )


@pytest.fixture(scope="session")
def flowwire_contract(pytestconfig: pytest.Config) -> Contract:
    """Validates frames of both directions against the flowwire JSON Schema."""
    directory = str(pytestconfig.getini("flowwire_schema_dir"))
    if directory:
        return Contract.from_directory(pytestconfig.rootpath / directory)
    names = [
        *pytestconfig.getini("flowwire_event_modules"),
        *pytestconfig.getoption("flowwire_event_module"),
    ]
    modules = []
    for name in names:
        try:
            modules.append(importlib.import_module(name))
        except ImportError as exc:
            raise pytest.UsageError(f"flowwire_contract: cannot import {name!r}: {exc}") from None
    return Contract.from_registry(modules=modules)
