"""Property-based fuzzing of every operation in /openapi.json: no input may cause a 5xx.

Runs in-process against the ASGI app (on the test's rolled-back connection), once as admin and
once without credentials, with a bounded, derandomized number of examples per operation.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.support.world import World

MAX_EXAMPLES = 15


def without_lifespan(app: Any) -> Any:
    """The `app` fixture already wired engine and bus to the test; skip the real lifespan."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await app.state.bus.start()
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await app(scope, receive, send)

    return wrapped


# Shapes a JSON schema does not generate but an attacker sends: NaN, Infinity (Python's json
# writes both), and integers past 64 bits, in bodies, query strings and paths.
HOSTILE_NUMBERS = [None, float("nan"), float("inf"), 2**70, -(2**70)]


def _swap_numbers(value: Any, hostile: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return hostile
    if isinstance(value, dict):
        return {k: _swap_numbers(v, hostile) for k, v in value.items()}
    if isinstance(value, list):
        return [_swap_numbers(v, hostile) for v in value]
    return value


def _hostile(pair: tuple[Any, Any]) -> Any:
    case, hostile = pair
    if hostile is None:
        return case
    case.body = _swap_numbers(case.body, hostile)
    for part in ("query", "path_parameters"):
        values = getattr(case, part, None)
        if values and isinstance(hostile, int):  # no NaN in a URL: a 64-bit overflow instead
            setattr(case, part, _swap_numbers(values, hostile))
    return case


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_non_finite(v) for v in value)
    return False


def _first_server_error(operation: Any, headers: dict[str, str]) -> str | None:
    """Run one operation's examples; describe the first 5xx, if any."""
    found: list[str] = []

    @given(case=st.tuples(operation.as_strategy(), st.sampled_from(HOSTILE_NUMBERS)).map(_hostile))
    @settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def run(case: Any) -> None:
        if _has_non_finite(case.body):
            # requests refuses to encode NaN; send the text Python's json (and attackers) write.
            response = case.call(headers={**headers, "Content-Type": "application/json"},
                                 data=json.dumps(case.body))
        else:
            response = case.call(headers=headers)
        if response.status_code >= 500 and not found:
            found.append(f"{operation.label} -> {response.status_code} "
                         f"{case.as_curl_command()}\n{response.text[:300]}")

    run()
    return found[0] if found else None


def fuzz(app: Any, headers: dict[str, str]) -> tuple[int, list[str]]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", without_lifespan(app))
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operations += 1
        failure = _first_server_error(result.ok(), headers)
        if failure:
            failures.append(failure)
    return operations, failures


@pytest.mark.slow
def test_no_server_error_as_admin(app: Any, world: World) -> None:
    token = app.state.token_signer.issue(world.admin)
    operations, failures = fuzz(app, {"Authorization": f"Bearer {token}"})
    assert operations > 30  # the whole contract was exercised, not an empty schema
    assert not failures, "\n\n".join(failures)


@pytest.mark.slow
def test_no_server_error_without_credentials(app: Any, world: World) -> None:
    operations, failures = fuzz(app, {})
    assert operations > 30
    assert not failures, "\n\n".join(failures)
