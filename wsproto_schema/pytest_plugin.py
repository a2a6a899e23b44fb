"""pytest plugin (auto-loaded once flowwire is installed): the `flowwire_contract` fixture.

    def test_my_server_speaks_flowwire(flowwire_contract):
        for frame in frames_my_server_sent:
            flowwire_contract.assert_server_frame(frame)

By default the schemas are generated from the Structs, including every event
your app registered; set the ini option `flowwire_schema_dir = "schemas"` to
check against committed generated files instead.
"""

from __future__ import annotations

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


@pytest.fixture(scope="session")
def flowwire_contract(pytestconfig: pytest.Config) -> Contract:
    """Validates frames of both directions against the flowwire JSON Schema."""
    directory = str(pytestconfig.getini("flowwire_schema_dir"))
    if directory:
        return Contract.from_directory(pytestconfig.rootpath / directory)
    return Contract.from_registry()
