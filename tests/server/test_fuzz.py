"""Every operation of the served OpenAPI document fuzzed by schemathesis: no request, valid or not,
makes the server answer 5xx.

Run against the session's demo server, as a second demo server would double the cost: ids are
random, so no DELETE finds a job, and a JSON POST to items is a query, not a new feature; at most
an execution that happens to be valid adds a job and a result collection, as the job tests do, and
the other tests compare counts within themselves. Bounded to a few minutes:

- ``MAX_EXAMPLES`` cases per operation, drawn from the schema (positive) and from its negation
  (negative: wrong types, missing required values, unknown parameters, bodies that are not JSON);
  derandomised, so that a run is repeatable and its cost known.
- Executions get negative cases only, less those with no inputs: a body without inputs runs a
  whole indicator with its defaults over the demo (about 15 s each), as the job tests do.
- Checks: ``not_a_server_error`` only. Status code, content type and response schema conformance
  report pygeoapi's document, not the server (tried, December 2026): it declares no 400 for the
  EDR queries, no ``application/ld+json`` or CoverageJSON answers, and gives ``/conformance`` the
  landing page's schema.
- No stateful phase: the document declares no links between operations (job ids).

schemathesis is imported in the functions: collecting the fast suite should not pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.server.conftest import Server

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy
    from schemathesis import APIOperation, Case

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 5


def _runs_defaults(body: Any) -> bool:
    return isinstance(body, dict) and not body.get("inputs")


def _strategy(operation: APIOperation) -> SearchStrategy:
    from hypothesis import strategies as st
    from schemathesis import GenerationMode

    negative = operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)
    if operation.path.endswith("/execution"):
        return negative.filter(lambda case: not _runs_defaults(case.body))
    return st.one_of(operation.as_strategy(generation_mode=GenerationMode.POSITIVE), negative)


def _server_errors(
    operation: APIOperation,
    url: str,
    headers: dict[str, str] | None = None,
    examples: int = MAX_EXAMPLES,
) -> list[str]:
    """The 5xx answers to ``examples`` cases of ``operation`` (sent with ``headers``), each as a curl
    command."""
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.errors import FailureGroup

    found: list[str] = []

    @given(_strategy(operation))
    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))  # fmt: skip
    def run(case: Case) -> None:
        response = case.call(base_url=url, headers=headers, timeout=120)
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except FailureGroup:
            found.append(f"{response.status_code} {case.as_curl_command()}: {response.text[:300]}")

    run()
    return found


def server_errors(
    server: Server, headers: dict[str, str] | None = None, examples: int = MAX_EXAMPLES
) -> dict[str, list[str]]:
    """The 5xx answers of every operation of the server's OpenAPI document, by operation."""
    import schemathesis

    url = server.url
    schema = schemathesis.openapi.from_url(f"{url}/openapi?f=json", timeout=300)
    operations = [result.ok() for result in schema.get_all_operations()]
    declared = {
        f"{method.upper()} {path}"
        for path, item in schema.raw_schema["paths"].items()
        for method in item
        if method in ("get", "put", "post", "delete", "options", "head", "patch")
    }
    # Every operation of the document (demo collections and processes) but the document itself.
    assert declared - {op.label for op in operations} == {"GET /openapi"}
    assert len(operations) > 50
    return {
        op.label: found
        for op in operations
        if (found := _server_errors(op, url, headers, examples))
    }


def test_no_operation_answers_a_server_error(server: Server) -> None:
    assert server_errors(server) == {}, server.log()[-3000:]
