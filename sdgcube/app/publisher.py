"""Keeping what one server process publishes in step with the index, one collection at a time.

Each product is summarised when its datasets change (all of them in one batch at start-up), and
only its collection is replaced in pygeoapi; vector layers likewise. The MapProxy configuration,
which is one document, is rebuilt when a product's maps change, after the collections are
published. A request naming a collection this process has not published yet
(a job result registered a moment ago, perhaps by a Dask worker or another web worker) publishes
it before it is answered, so a result is served the moment its job reports success.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sdgcube.app.hosts import MapProxyHost
from sdgcube.app.ogc_config import archive_resource, layer_resource, product_resource
from sdgcube.app.pygeoapi_host import PygeoapiHost
from sdgcube.datacube.catalog import ProductSummary, summarise_products
from sdgcube.datacube.database import read_product_counts
from sdgcube.datacube.extent import off_earth
from sdgcube.processes.services import Services
from sdgcube.tiles.mapproxy_config import mapproxy_config

__all__ = ["IndexState", "Publisher"]

_LOG = logging.getLogger(__name__)
# pygeoapi sets the root level to ERROR; a product left out must still be seen in the server's log.
_LOG.setLevel(logging.WARNING)


@dataclass(frozen=True)
class IndexState:
    """What decides the published collections: dataset counts per product, layers' update times."""

    datasets: Mapping[str, int]
    layers: Mapping[str, datetime]

    @classmethod
    def read(cls, services: Services) -> IndexState:
        """Two cheap queries, whatever the number of products."""
        cube = services.cube
        with cube.engine.connect() as conn:
            counts = read_product_counts(conn, cube.index_driver)
        datasets = {c.name: c.datasets for c in counts if c.datasets > 0}
        layers = {layer.name: layer.updated for layer in services.vectors.list_layers()}
        return cls(datasets, layers)


def unusable_extent(summary: ProductSummary) -> str | None:
    """Why a product's extent cannot be published (MapProxy refuses the whole configuration)."""
    return None if summary.bbox is None else off_earth(summary.bbox)


class Publisher:
    """The collections and map layers of one server process."""

    def __init__(
        self,
        services: Services,
        pygeoapi: PygeoapiHost,
        mapproxy: MapProxyHost,
        *,
        internal_url: str,
    ) -> None:
        self.services = services
        self.pygeoapi = pygeoapi
        self.mapproxy = mapproxy
        self.internal_url = internal_url
        self.summaries: dict[str, ProductSummary] = {}
        self._state = IndexState({}, {})
        self._lock = threading.Lock()
        self._maps_lock = threading.Lock()
        self._products: tuple[int, list[ProductSummary]] = (0, [])
        """The products MapProxy should serve, numbered by change; MapProxy serves ``_maps``."""
        self._maps = 0

    def refresh(self) -> bool:
        """Publish what changed in the index since the last refresh; True if anything did."""
        changed = self.refresh_collections()
        self.refresh_maps()
        return changed

    def refresh_collections(self) -> bool:
        """Publish the collections that changed in the index; True if any did."""
        with self._lock:
            state = IndexState.read(self.services)
            if state == self._state:
                return False
            self._apply(state)
            self._state = state
            return True

    def refresh_maps(self) -> None:
        """Rebuild MapProxy if the products changed since it was built."""
        with self._maps_lock:
            version, products = self._products
            if version != self._maps:
                self.mapproxy.load(
                    mapproxy_config(
                        self.services.settings, products, internal_url=self.internal_url
                    )
                )
                self._maps = version

    @property
    def maps_built(self) -> bool:
        """Whether MapProxy has been built once (or there is nothing to build)."""
        return self._maps > 0 or self._products[0] == 0

    def ensure(self, name: str) -> bool:
        """True if ``name`` is published, after publishing it if the index has it by now (its map
        layer follows with the next refresh: a request need not wait for MapProxy)."""
        if name in self.pygeoapi.resources:
            return True
        self.refresh_collections()
        return name in self.pygeoapi.resources

    def coverage_provider(self, name: str) -> dict[str, Any] | None:
        """The coverage provider definition of a published (or just registered) product."""
        if not self.ensure(name):
            return None
        providers = self.pygeoapi.resources[name].get("providers", [])
        return next((p for p in providers if p["type"] == "coverage"), None)

    def _summarise(self, names: list[str]) -> dict[str, ProductSummary | None]:
        """Summaries of the products named, None for one left out."""
        summaries: dict[str, ProductSummary | None] = dict.fromkeys(names)
        for summary in summarise_products(self.services.cube, names):
            reason = unusable_extent(summary)
            if reason:
                _LOG.warning("product %s is not published: %s", summary.name, reason)
            else:
                summaries[summary.name] = summary
        return summaries

    def _apply(self, state: IndexState) -> None:
        old = self._state
        changed = [n for n, count in state.datasets.items() if old.datasets.get(n) != count]
        gone = [n for n in old.datasets if n not in state.datasets]
        for name in gone:
            self.summaries.pop(name, None)
        for name, summary in self._summarise(changed).items():
            if summary is None:
                # Left out, not fatal: one bad dataset must not stop the other products.
                changed.remove(name)
                if self.summaries.pop(name, None) is not None:
                    gone.append(name)
            else:
                self.summaries[name] = summary
        updated = {name: product_resource(self.services, self.summaries[name]) for name in changed}
        updated.update(self._changed_layers(old))
        removed = gone + [
            n for n in old.layers if n not in state.layers and n not in state.datasets
        ]
        products = sorted(self.summaries.values(), key=lambda s: s.name)
        if (changed or gone) and self.services.settings.archive_dir.exists():
            updated["archive"] = archive_resource(self.services.settings, products)
        self.pygeoapi.replace(updated, removed)
        _LOG.info("published %d collections (%d removed)", len(updated), len(removed))
        if changed or gone:
            self._products = (self._products[0] + 1, products)

    def _changed_layers(self, old: IndexState) -> dict[str, dict[str, Any]]:
        """The collections of the vector layers added or updated since ``old``."""
        return {
            layer.name: layer_resource(self.services, layer)
            for layer in self.services.vectors.list_layers()
            if old.layers.get(layer.name) != layer.updated and layer.name not in self.summaries
        }
