"""Validate records against the published schema (schemas/oom-record.schema.json).

Tests import it as ``from schema_util import validate_record``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "oom-record.schema.json"


@lru_cache(maxsize=1)
def load_record_schema() -> dict[str, Any]:
    """The OOM record schema, parsed (shared: do not mutate)."""
    with SCHEMA_PATH.open(encoding="utf-8") as file:
        return json.load(file)


@lru_cache(maxsize=1)
def _validator() -> Any:
    # Imported here: jsonschema costs ~130 ms, and only schema-checking tests need it.
    from jsonschema import Draft202012Validator

    return Draft202012Validator(
        load_record_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def validate_record(d: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError unless d is a valid OOM record."""
    _validator().validate(d)
