"""The bands of a product as its definition in the index describes them: the one band lookup.

Every caller that names bands — processes, tiles, coverages — resolves names and aliases, reads
nodata, scale and offset, and finds the pixel-quality band here, so they cannot disagree.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import xarray as xr
from datacube.model import Measurement

from sdgcube.errors import InvalidRequest

__all__ = ["Band", "ProductBands"]

# A product's measurement: ODC's Measurement reads like a mapping but is not typed as one.
MeasurementDoc = Mapping[str, Any] | Measurement


@dataclass(frozen=True)
class Band:
    """One measurement of a product."""

    name: str
    dtype: str
    nodata: float | None
    """The declared nodata value; None when the definition declares none."""
    units: str
    aliases: tuple[str, ...]
    description: str | None
    scale: float
    """``scale_factor``: physical value = stored value × scale + offset."""
    offset: float
    categorical: bool
    """Class codes or bit flags: never averaged or interpolated."""
    bit_flags: bool
    """A pixel-quality band whose flags sit on single bits (fill, cloud, cloud shadow …)."""

    @classmethod
    def of(cls, name: str, doc: MeasurementDoc) -> Band:
        flags = doc.get("flags_definition") or {}
        return cls(
            name=name,
            dtype=str(doc["dtype"]),
            nodata=_nodata(doc.get("nodata")),
            units=str(doc.get("units", "1")),
            aliases=tuple(doc.get("aliases", ())),
            description=doc.get("description"),
            scale=float(doc.get("scale_factor", 1.0)),
            offset=float(doc.get("add_offset", 0.0)),
            categorical=bool(flags) or doc.get("units") == "class",
            bit_flags=any(isinstance(flag.get("bits"), int) for flag in flags.values()),
        )

    @property
    def fill(self) -> float:
        """The value that means no data when drawn or written: the declared nodata, else NaN."""
        return math.nan if self.nodata is None else self.nodata

    def physical(self, values: xr.DataArray) -> xr.DataArray:
        """float32 in physical units (value × scale + offset); masked pixels stay NaN."""
        as_float = values.astype("float32")
        if self.scale == 1.0 and self.offset == 0.0:
            return as_float
        return as_float * self.scale + self.offset


def _nodata(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class ProductBands:
    """Every band of one product, in definition order, with name and alias lookup."""

    product: str
    bands: tuple[Band, ...]

    @classmethod
    def of(cls, product: str, measurements: Mapping[str, MeasurementDoc]) -> ProductBands:
        return cls(product, tuple(Band.of(name, doc) for name, doc in measurements.items()))

    def __iter__(self) -> Iterator[Band]:
        return iter(self.bands)

    @cached_property
    def _lookup(self) -> dict[str, Band]:
        return {name: band for band in self.bands for name in (band.name, *band.aliases)}

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(band.name for band in self.bands)

    @property
    def every_name(self) -> frozenset[str]:
        """Measurement names and aliases."""
        return frozenset(self._lookup)

    @property
    def quality(self) -> Band | None:
        """The pixel-quality (bit-flag) band, if the product has one."""
        return next((band for band in self.bands if band.bit_flags), None)

    @property
    def first(self) -> Band:
        return self.bands[0]

    def __getitem__(self, name: str) -> Band:
        """The band ``name`` (a measurement name or an alias)."""
        band = self._lookup.get(name)
        if band is None:
            raise InvalidRequest(
                f"product {self.product!r} has no band {name!r} (bands: {', '.join(self.names)})"
            )
        return band

    def select(self, names: Sequence[str]) -> tuple[Band, ...]:
        """Bands by name or alias, in the order asked; InvalidRequest names every unknown one."""
        unknown = [n for n in names if n not in self._lookup]
        if unknown:
            raise InvalidRequest(
                f"product {self.product!r} has no band(s) {unknown} (bands: {', '.join(self.names)})"
            )
        return tuple(self._lookup[n] for n in names)

    def physical(self, data: xr.Dataset, names: Sequence[str]) -> dict[str, xr.DataArray]:
        """float32 arrays in physical units, keyed by the names asked for (aliases as given)."""
        return {name: self[name].physical(data[name]) for name in names}
