"""Every operation of the served OpenAPI document fuzzed by schemathesis: no request, valid or not,
makes the server answer 5xx.

The server is this module's own (demo archive, own index): executions publish result collections
and fuzzing must not change what the shared server's tests see. Bounded to a few minutes:

- ``MAX_EXAMPLES`` cases per operation, drawn from the schema (positive) and from its negation
  (negative: wrong types, missing required values, unknown parameters, bodies that are not JSON);
  derandomised, so that a run is repeatable and its cost known.
- Executions get negative cases only: a valid body without inputs runs a whole indicator over the
  demo (about 15 s each); the job tests cover valid executions.
- Checks: ``not_a_server_error`` only. Response schema and status code conformance are not
  asserted: pygeoapi's document declares few of the statuses and media types it really answers
  (400 for unknown parameters, HTML pages), so those checks would report its document, not bugs.
- No stateful phase: the document declares no links between operations (job ids).

schemathesis is imported in the functions: collecting the fast suite should not pay for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

from sdgcube.settings import Settings
from tests.server.conftest import Server, demo_server

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy
    from schemathesis import APIOperation, Case

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 5


@pytest.fixture(scope="module")
def fuzzed_server(make_settings: Callable[[str], Settings]) -> Iterator[Server]:
    with demo_server(make_settings("embedded")) as server:
        yield server


def _strategy(operation: APIOperation) -> SearchStrategy:
    from hypothesis import strategies as st
    from schemathesis import GenerationMode

    negative = operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)
    if operation.path.endswith("/execution"):
        return negative
    return st.one_of(operation.as_strategy(generation_mode=GenerationMode.POSITIVE), negative)


def _server_errors(operation: APIOperation, url: str) -> list[str]:
    """The 5xx answers to ``MAX_EXAMPLES`` cases of ``operation``, each as a curl command."""
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis.checks import not_a_server_error

    found: list[str] = []

    @given(_strategy(operation))
    @settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))  # fmt: skip
    def run(case: Case) -> None:
        response = case.call(base_url=url, timeout=120)
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except AssertionError:
            found.append(f"{response.status_code} {case.as_curl_command()}: {response.text[:300]}")

    run()
    return found


def test_no_operation_answers_a_server_error(fuzzed_server: Server) -> None:
    import schemathesis

    url = fuzzed_server.url
    schema = schemathesis.openapi.from_url(f"{url}/openapi?f=json", timeout=300)
    operations = [result.ok() for result in schema.get_all_operations()]
    declared = sum(
        method in ("get", "put", "post", "delete", "options", "head", "patch")
        for item in schema.raw_schema["paths"].values()
        for method in item
    )
    assert len(operations) == declared > 50  # every operation of the document, demo and processes
    errors = {op.label: found for op in operations if (found := _server_errors(op, url))}
    assert errors == {}, fuzzed_server.log()[-3000:]
