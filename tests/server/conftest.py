"""Server-test fixtures: a protocol-schema validator for every message the tests see."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.server.wsclient import SCHEMA_PATH, load_schema

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
