"""Server-test fixtures: a protocol-schema validator for every message the tests see."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import ServerProcess
from tests.server.wsclient import SCHEMA_PATH, Client, load_schema

Validator = Callable[[dict[str, Any]], None]


def make_validator(definition: str) -> Validator | None:
    """A function raising `jsonschema.ValidationError` for a message that breaks the schema's
    `definition` (e.g. "ServerMsg"); None when the schema has not landed yet."""
    if not SCHEMA_PATH.exists():
        return None
    import jsonschema

    schema = load_schema()
    defs_key = "$defs" if "$defs" in schema else "definitions"
    if definition not in schema.get(defs_key, {}):
        raise KeyError(f"{SCHEMA_PATH.name} has no {defs_key}/{definition}")
    sub = {"$ref": f"#/{defs_key}/{definition}", defs_key: schema[defs_key]}
    cls = jsonschema.validators.validator_for(schema)
    validator = cls(sub)

    def validate(msg: dict[str, Any]) -> None:
        validator.validate(msg)

    return validate


@pytest.fixture(scope="session")
def server_msg_validator() -> Validator | None:
    return make_validator("ServerMsg")


@pytest.fixture
async def client(betex_server: ServerProcess, server_msg_validator: Validator | None) -> Any:
    """A /ws_ctl client on the test server whose every received message is checked against the
    protocol schema when it closes."""
    cl = await Client.connect(betex_server.ws_url + "/ws_ctl", server_msg_validator)
    yield cl
    await cl.close()
    cl.check()  # every message the server sent matched the protocol schema
