"""The state one sdgcube process works with, built once and passed down explicitly.

A server builds one `Services` in ``create_app``, a CLI command one per invocation, a Dask worker
one per installation it runs jobs for (`ServicesPlugin`). Providers, the job manager, processors
and jobs reach it through the object they were given — never through module globals or `Settings`
rebuilt from the environment.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from functools import cached_property
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any, Self

from distributed import Client, LocalCluster, get_worker
from distributed.diagnostics.plugin import WorkerPlugin

from sdgcube.auth.audit import AuditLog
from sdgcube.datacube.cube import Cube, open_cube
from sdgcube.datacube.vectors import VectorStore
from sdgcube.processes.jobs import JobStore
from sdgcube.settings import Settings

if TYPE_CHECKING:
    from sdgcube.auth.accounts import AccountStore
    from sdgcube.auth.sessions import SessionStore
    from sdgcube.models.registry import ModelRegistry

__all__ = ["DaskConnection", "Services", "ServicesPlugin", "settings_payload", "worker_services"]


def settings_payload(settings: Settings) -> dict[str, Any]:
    """The settings as plain data for another process; secrets included on purpose, since a Dask
    worker elsewhere may not share this process's environment."""
    payload = settings.model_dump(mode="json", exclude={"db_url"})
    if settings.db_url is not None:
        payload["db_url"] = settings.db_url.get_secret_value()
    return payload


class DaskConnection:
    """The Dask client of one installation, connected on first use (most CLI commands need none)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: Client | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> Client:
        with self._lock:  # two first submissions at once must not start two clusters
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _connect(self) -> Client:
        address = self._settings.dask_address
        if address is None:
            # Without a scheduler (tests, a bare create_app) jobs still run on Dask, in this process.
            cluster = LocalCluster(
                n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
            )
            client = Client(cluster, set_as_default=False)
        else:
            client = Client(address, set_as_default=False)
        client.register_plugin(ServicesPlugin(settings_payload(self._settings)))
        return client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                cluster = self._client.cluster
                self._client.close()
                if cluster is not None:
                    cluster.close()
                self._client = None


@dataclass(frozen=True, eq=False)
class Services:
    """Settings, the cube, the job and vector stores and the Dask connection of one installation."""

    settings: Settings
    cube: Cube
    dask: DaskConnection = field(repr=False)

    @classmethod
    def build(cls, settings: Settings) -> Services:
        """Open the index (starting the embedded PostgreSQL if it is the index); stores and the
        Dask client follow on first use."""
        return cls(settings, open_cube(settings), DaskConnection(settings))

    @classmethod
    def of(cls, cube: Cube) -> Services:
        """The services around an already open cube."""
        return cls(cube.settings, cube, DaskConnection(cube.settings))

    @cached_property
    def jobs(self) -> JobStore:
        return JobStore(self.cube.engine)

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self.cube.engine)

    @cached_property
    def accounts(self) -> AccountStore:
        from sdgcube.auth.accounts import AccountStore

        return AccountStore(self.cube.engine)

    @cached_property
    def sessions(self) -> SessionStore:
        from sdgcube.auth.sessions import SessionStore

        return SessionStore(self.cube.engine, hours=self.settings.auth.session_hours)

    @property
    def vectors(self) -> VectorStore:
        return self.cube.vectors

    @cached_property
    def models(self) -> ModelRegistry:
        """The segmentation models of this installation; torch loads with the first model."""
        from sdgcube.models.registry import ModelRegistry

        return ModelRegistry(self.settings.archive_dir)

    def publish_models(self) -> None:
        """Put the shipped models in the archive's STAC catalog (nothing without the ``ml`` extra)."""
        if find_spec("torch") is not None:
            self.models.publish_shipped()

    def close(self) -> None:
        self.dask.close()
        self.cube.close()

    def __deepcopy__(self, memo: dict[int, Any]) -> Services:
        # pygeoapi deep-copies parts of its configuration, where providers find this object.
        return self

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _plugin_name(payload: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]
    return f"sdgcube-services-{digest}"


class ServicesPlugin(WorkerPlugin):
    """Builds the `Services` of one installation once per Dask worker, on first use by a job."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.payload = payload
        self.name = _plugin_name(payload)
        self._services: Services | None = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"payload": self.payload, "name": self.name}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["payload"])  # type: ignore[misc]

    @property
    def services(self) -> Services:
        with self._lock:
            if self._services is None:
                self._services = Services.build(Settings(**self.payload))
            return self._services

    def teardown(self, worker: Any) -> None:
        if self._services is not None:
            self._services.cube.close()


def worker_services(payload: dict[str, Any]) -> Services:
    """Inside a Dask task: the services of the installation whose settings are ``payload``."""
    worker = get_worker()
    name = _plugin_name(payload)
    plugin = worker.plugins.get(name)
    if plugin is None:  # a worker that joined after the client registered the plugin elsewhere
        plugin = ServicesPlugin(payload)
        worker.plugins[name] = plugin
    return plugin.services
