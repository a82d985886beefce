"""``sdgcube serve``: the index, a Dask cluster and uvicorn workers running the one app.

The parent process owns what the workers share: it keeps the embedded PostgreSQL running and, when
no ``SDGCUBE_DASK_ADDRESS`` is given, a local Dask cluster whose scheduler every web worker submits
jobs to. Workers receive the effective settings through the environment.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sdgcube.cli.errors import user_errors

if TYPE_CHECKING:
    from sdgcube.settings import Settings

__all__ = ["serve"]


def _environment(data_dir: Path, host: str, port: int, dask_address: str) -> None:
    os.environ.update(
        SDGCUBE_DATA_DIR=str(data_dir),
        SDGCUBE_HOST=host,
        SDGCUBE_PORT=str(port),
        SDGCUBE_DASK_ADDRESS=dask_address,
    )


def _check_auth(settings: Settings) -> None:
    """A policy or issuer that cannot work fails here, once, not in every worker; an open server
    anyone can reach is said so."""
    from sdgcube.auth.policy import load_policy
    from sdgcube.errors import ConfigError

    auth = settings.auth
    if auth.open:
        if not settings.on_loopback:
            print(
                f"sdgcube: warning: serving on {settings.host} with authentication off: anyone who "
                "can reach it may run jobs and read every result (set SDGCUBE_AUTH__MODE=keys)",
                file=sys.stderr,
            )
        return
    load_policy(auth.policy_file)
    if "oidc" in auth.mode and auth.oidc.issuer is None:
        raise ConfigError("SDGCUBE_AUTH__MODE has oidc: set SDGCUBE_AUTH__OIDC__ISSUER")


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default from settings: 127.0.0.1)")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on (default from settings: 5000)")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Web worker processes")] = 1,
    dask_workers: Annotated[
        int, typer.Option(min=1, help="Local Dask worker processes (without SDGCUBE_DASK_ADDRESS)")
    ] = 2,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Data folder (overrides SDGCUBE_DATA_DIR).")
    ] = None,
) -> None:
    """Serve the cube: OGC APIs at /, tiles at /tiles, WMS/WMTS at /mapproxy."""
    import uvicorn
    from distributed import LocalCluster

    from sdgcube.datacube.index import init_index
    from sdgcube.settings import Settings

    with user_errors():
        overrides = {
            k: v
            for k, v in {"host": host, "port": port, "data_dir": data_dir}.items()
            if v is not None
        }
        settings = Settings(**overrides)
        _check_auth(settings)
        init_index(settings).close()
    cluster = None
    address = settings.dask_address
    if address is None:
        cluster = LocalCluster(
            n_workers=dask_workers, threads_per_worker=2, processes=True, dashboard_address=None
        )
        address = cluster.scheduler_address
    _environment(settings.data_dir, settings.host, settings.port, address)
    print(
        f"sdgcube serving {settings.data_dir} on {settings.base_url} (Dask at {address})",
        file=sys.stderr,
    )
    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again under the handler it
    # found: Python's default would kill this process before the cluster and index are stopped.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        uvicorn.run(
            "sdgcube.app.server:create_app", factory=True, host=settings.host, port=settings.port,
            workers=workers, log_level="warning", timeout_graceful_shutdown=5,
        )  # fmt: skip
    finally:
        if cluster is not None:
            cluster.close()
