"""Helpers of the expected-access test: a valid request for every operation of /openapi.json."""

from __future__ import annotations

from datetime import date
from typing import Any

# Patterns of the contract, with one value each matches.
PATTERN_EXAMPLES = {
    r"^[A-Za-z0-9_.-]+$": "X1",
    r"^[A-Z]{1,3}$": "Q",
    r"^#[0-9a-fA-F]{6}$": "#123456",
}


def example(schema: dict[str, Any], spec: dict[str, Any], name: str = "") -> Any:
    """The smallest instance of a JSON schema (required properties only)."""
    if "$ref" in schema:
        target = schema["$ref"].rsplit("/", 1)[1]
        return example(spec["components"]["schemas"][target], spec, name)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"]
            return example(options[0], spec, name) if options else None
    if "allOf" in schema:
        return example(schema["allOf"][0], spec, name)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {k: example(props[k], spec, k) for k in schema.get("required", []) if k in props}
    if kind == "array":
        n = max(1, schema.get("minItems", 0)) if schema.get("minItems") else 0
        return [example(schema.get("items", {}), spec, name) for _ in range(n)]
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 1))
    if kind == "boolean":
        return False
    if kind == "string":
        if schema.get("format") == "date":
            return date.today().isoformat()
        if schema.get("format") == "date-time":
            return "2026-12-01T08:00:00+07:00"
        text = PATTERN_EXAMPLES.get(schema.get("pattern", ""), "x")
        return text + "x" * max(0, schema.get("minLength", 1) - len(text))
    return None
