"""The web app on a server with accounts: a signed-out visitor gets the sign-in form, signing in
with an API key opens the catalog, a job submitted by the session cookie carries its CSRF token,
and signing out closes it again."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator

import pytest

from sdgcube.settings import Settings
from tests.browser import browsing
from tests.server.conftest import SDGCUBE, Server, free_port
from tests.web.test_app import NDVI, READY_MS, needs_build

POLICY = """
anonymous_role: anonymous
roles:
  anonymous: {read: []}
  analyst: {read: ["*"], execute: ["band-math"]}
"""


@pytest.fixture(scope="module")
def keyed_server(
    make_settings: Callable[[str], Settings], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, str]]:
    settings = make_settings("embedded")
    policy = tmp_path_factory.mktemp("policy") / "policy.yaml"
    policy.write_text(POLICY)
    env = {**os.environ, "SDGCUBE_DATA_DIR": str(settings.data_dir)}
    subprocess.run([SDGCUBE, "demo-data", "--size", "small", "--seed", "7"], env=env, check=True,
                   capture_output=True, timeout=300)  # fmt: skip
    port = free_port()
    server = Server(url=f"http://127.0.0.1:{port}", port=port, settings=settings,
                    env={"SDGCUBE_AUTH__MODE": "keys", "SDGCUBE_AUTH__POLICY_FILE": str(policy)})  # fmt: skip

    def cli(*args: str) -> str:
        done = subprocess.run([SDGCUBE, *args], env=server.environment(), capture_output=True,
                              text=True, timeout=120, check=True)  # fmt: skip
        return done.stdout

    cli("users", "add", "ana", "--role", "analyst")
    key = json.loads(cli("keys", "create", "--user", "ana", "--name", "ana's key", "--json"))
    server.start()
    try:
        yield server, key["token"]
    finally:
        server.stop()


@pytest.mark.slow
@needs_build
def test_sign_in_run_a_job_and_sign_out(keyed_server: tuple[Server, str]) -> None:
    server, key = keyed_server
    with browsing() as browsed:
        page = browsed.page
        page.goto(f"{server.url}/app/")
        page.wait_for_selector("#account form.login", timeout=READY_MS)
        page.wait_for_selector("#layer-list li.error", timeout=READY_MS)  # the catalog is 401
        page.fill("#account input[name=api_key]", key)
        page.click("#account form.login button")
        page.wait_for_selector("body[data-ready=true]", state="attached", timeout=READY_MS)
        assert page.inner_text("#account").startswith("ana")
        assert page.locator("#layer-list li.layer[data-layer=land_cover]").count() == 1
        page.click("#tabs button[data-panel=processes]")
        page.wait_for_selector("#process-form[data-process=band-math] #in-expression")
        page.fill("#in-expression", NDVI)
        page.fill("#in-datetime", "2020")
        with page.expect_request("**/processes/band-math/execution") as posted:
            page.click("#process-form button[type=submit]")
        assert posted.value.headers.get("x-csrf-token")
        page.locator("#process-status .job-text").filter(has_text="added to the map").wait_for(
            timeout=180_000
        )
        page.click("#account button")
        page.wait_for_selector("#account form.login", timeout=READY_MS)
        browsed.screenshot("app-signed-out")
        assert browsed.foreign() == []
