"""OGC API - Features over the vector store: one pygeoapi collection per stored layer.

pygeoapi builds a provider for every request, so the constructor does no I/O; the store is the
server's (``Services.vectors``). A provider definition (built by `sdgcube.app.ogc_config`):

    {type: feature, name: sdgcube.app.providers.features.CubeFeatureProvider,
     data: <layer name>, id_field: id, store: <VectorStore>}
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pygeoapi.crs import crs_transform
from pygeoapi.provider.base import (
    BaseProvider,
    ProviderConnectionError,
    ProviderInvalidQueryError,
    ProviderItemNotFoundError,
    ProviderQueryError,
)

from sdgcube.datacube.vectors import VectorFeature, VectorStore
from sdgcube.errors import IndexUnavailable, InvalidRequest, SdgcubeError, UnknownCollection

__all__ = ["CubeFeatureProvider"]

LOGGER = logging.getLogger(__name__)


@contextmanager
def _provider_errors() -> Iterator[None]:
    """sdgcube's errors as pygeoapi's, which carry the HTTP status and OGC exception code."""
    try:
        yield
    except InvalidRequest as exc:
        raise ProviderInvalidQueryError(user_msg=str(exc)) from exc
    except (IndexUnavailable, UnknownCollection) as exc:
        raise ProviderConnectionError(str(exc)) from exc
    except SdgcubeError as exc:
        raise ProviderQueryError(str(exc)) from exc


def _bbox_2d(bbox: Sequence[float] | None) -> Sequence[float] | None:
    """OGC API bboxes have 4 numbers, or 6 with heights (minx, miny, minz, maxx, maxy, maxz)."""
    if not bbox:
        return None
    return [bbox[0], bbox[1], bbox[3], bbox[4]] if len(bbox) == 6 else bbox


class CubeFeatureProvider(BaseProvider):  # type: ignore[misc]  # pygeoapi is untyped
    """A stored vector layer (``data``) as a feature collection, in EPSG:4326 / CRS84."""

    def __init__(self, provider_def: dict[str, Any]) -> None:
        super().__init__(provider_def)
        self._store: VectorStore = provider_def["store"]

    @property
    def fields(self) -> dict[str, dict[str, str]]:
        """Read on first use, not in the constructor: pygeoapi builds providers it never queries."""
        return self.get_fields()

    def get_fields(self) -> dict[str, dict[str, str]]:
        if not self._fields:
            with _provider_errors():
                try:
                    layer = self._store.get_layer(self.data)
                except UnknownCollection:
                    # A configured collection whose layer is not loaded yet must not break the
                    # OpenAPI document or the landing page; its queries still fail loudly.
                    LOGGER.warning(
                        "vector layer %r is not loaded: run 'sdgcube boundaries'", self.data
                    )
                    return {}
            self._fields = {name: {"type": kind} for name, kind in layer.fields.items()}
        return self._fields  # type: ignore[no-any-return]

    def _geojson(
        self, feature: VectorFeature, keep: Sequence[str], skip_geometry: bool
    ) -> dict[str, Any]:
        out = feature.to_geojson()
        if keep:
            out["properties"] = {k: v for k, v in out["properties"].items() if k in keep}
        if skip_geometry:
            out["geometry"] = None
        return out

    @crs_transform  # type: ignore[misc]
    def query(
        self, offset: int = 0, limit: int = 10, resulttype: str = "results", bbox: Sequence[float] = (),
        datetime_: str | None = None, properties: Sequence[tuple[str, str]] = (),
        sortby: Sequence[dict[str, str]] = (), select_properties: Sequence[str] = (),
        skip_geometry: bool = False, q: str | None = None, filterq: Any = None, **kwargs: Any,
    ) -> dict[str, Any]:  # fmt: skip
        """A page of features with ``numberMatched``, from which pygeoapi builds the next link.

        ``datetime_`` is ignored: stored layers have no time. Free text (``q``) and CQL2 filters
        are refused rather than ignored, so a client never mistakes all features for a match."""
        if q or filterq is not None:
            raise ProviderInvalidQueryError(
                user_msg="this collection supports neither q nor filter"
            )
        order = [("-" if s.get("order") == "-" else "") + s["property"] for s in sortby or ()]
        with _provider_errors():
            found, matched = self._store.query_features(
                self.data, bbox=_bbox_2d(bbox), limit=0 if resulttype == "hits" else limit, offset=offset,
                properties=dict(properties or ()), sortby=order,
            )  # fmt: skip
        keep = list(select_properties or ()) or list(self.properties)
        return {
            "type": "FeatureCollection",
            "features": [self._geojson(f, keep, skip_geometry) for f in found],
            "numberMatched": matched,
            "numberReturned": len(found),
        }

    @crs_transform  # type: ignore[misc]
    def get(self, identifier: str, **kwargs: Any) -> dict[str, Any]:
        with _provider_errors():
            feature = self._store.get_feature(self.data, str(identifier))
        if feature is None:
            raise ProviderItemNotFoundError(
                user_msg=f"no feature {identifier!r} in collection {self.data!r}"
            )
        return self._geojson(feature, list(self.properties), skip_geometry=False)

    def __repr__(self) -> str:
        return f"<CubeFeatureProvider> {self.data}"
