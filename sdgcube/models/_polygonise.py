"""Polygonising a building mask strip by strip, joining the buildings cut by strip edges.

Each strip is labelled (4-connectivity) and each label traced into one polygon with its holes.
A building cut by a strip edge is one label in the strip above and one or more in the strip below;
they belong together exactly when a pixel of the last row above and the pixel under it in the first
row below are both set (pixels that touch only at a corner are not 4-connected). Comparing those two
rows of labels is exact, where comparing geometries along the edge would not be.

Polygons are traced in pixel coordinates offset by the strip's first row: integer coordinates are
exact in floating point, so pieces of one building share their edge vertex for vertex and their
union leaves no sliver. The affine transform is applied once, to the joined polygon.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import rasterio.features
import shapely
from affine import Affine
from scipy import ndimage
from shapely.geometry import Polygon, shape

from sdgcube.errors import InvalidRequest

__all__ = ["polygonise_strips"]

_FOUR_CONNECTED = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], dtype=bool)


@dataclass
class _Open:
    """Buildings that touch the bottom edge of the rows read so far: their pieces, and which
    label of the last strip's last row belongs to which building."""

    pieces: dict[int, list[Polygon]] = field(default_factory=dict)
    last_row: npt.NDArray[np.int32] | None = None
    building_of_label: dict[int, int] = field(default_factory=dict)


def _label_strip(
    strip: npt.NDArray[np.generic], row0: int
) -> tuple[npt.NDArray[np.int32], dict[int, Polygon]]:
    """Labels of a strip (4-connectivity) and each label's polygon in pixel coordinates."""
    labels, _ = ndimage.label(strip.astype(bool), structure=_FOUR_CONNECTED)
    labels = labels.astype(np.int32)
    offset = Affine.translation(0, row0)
    polygons = {
        int(value): Polygon(shape(geom))
        for geom, value in rasterio.features.shapes(
            labels, mask=labels > 0, connectivity=4, transform=offset
        )
    }
    return labels, polygons


def _pairs(above: npt.NDArray[np.int32], below: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
    """Distinct (label above, label below) pairs of vertically adjacent set pixels."""
    both = (above > 0) & (below > 0)
    if not both.any():
        return np.empty((0, 2), dtype=np.int32)
    return np.unique(np.stack([above[both], below[both]], axis=1), axis=0)


def _find(parent: dict[int, int], node: int) -> int:
    while parent[node] != node:
        parent[node] = parent[parent[node]]  # path halving keeps the chains short
        node = parent[node]
    return node


def _join(
    state: _Open, labels: npt.NDArray[np.int32], polygons: dict[int, Polygon], next_id: int
) -> tuple[list[list[Polygon]], int]:
    """Merge this strip's labels into the open buildings; return the pieces of the buildings now
    closed (no pixel in this strip's last row) and the next free id. ``state`` is updated in place."""
    parent: dict[int, int] = {bid: bid for bid in state.pieces}
    label_node = {label: next_id + i for i, label in enumerate(sorted(polygons))}
    next_id += len(label_node)
    parent.update({node: node for node in label_node.values()})
    if state.last_row is not None:
        for above, below in _pairs(state.last_row, labels[0]):
            a, b = (
                _find(parent, state.building_of_label[int(above)]),
                _find(parent, label_node[int(below)]),
            )
            if a != b:
                parent[max(a, b)] = min(a, b)
    merged: dict[int, list[Polygon]] = {}
    for bid, pieces in state.pieces.items():
        merged.setdefault(_find(parent, bid), []).extend(pieces)
    for label, node in label_node.items():
        merged.setdefault(_find(parent, node), []).append(polygons[label])
    last = labels[-1]
    state.building_of_label = {
        int(lab): _find(parent, label_node[int(lab)]) for lab in np.unique(last[last > 0])
    }
    still_open = set(state.building_of_label.values())
    state.pieces = {bid: pieces for bid, pieces in merged.items() if bid in still_open}
    state.last_row = last.copy()
    return [pieces for bid, pieces in merged.items() if bid not in still_open], next_id


def _finish(pieces: list[Polygon], transform: Affine) -> Polygon:
    """One building from its pieces: joined in exact pixel coordinates, then georeferenced."""
    joined = pieces[0] if len(pieces) == 1 else shapely.union_all(pieces)
    if not isinstance(
        joined, Polygon
    ):  # pieces of one 4-connected building always form one polygon
        raise AssertionError(f"a building's pieces joined into a {joined.geom_type}")
    joined = joined.simplify(0)  # drops the collinear vertices left where strip edges cut it
    a, b, c, d, e, f = transform.a, transform.b, transform.c, transform.d, transform.e, transform.f
    return Polygon(shapely.affinity.affine_transform(joined, [a, b, d, e, c, f]))


def polygonise_strips(
    read_strip: Callable[[int, int], npt.NDArray[np.generic]], height: int, width: int, transform: Affine, *,
    strip_rows: int = 1024,
) -> Iterator[Polygon]:  # fmt: skip
    """Polygons of the set pixels of a ``height`` x ``width`` mask read ``strip_rows`` rows at a time.

    ``read_strip(row_start, row_stop)`` returns a bool/uint8 ``(rows, width)`` array (non-zero =
    building). Each 4-connected building is exactly one polygon, holes kept, in the CRS of
    ``transform``, whatever ``strip_rows`` is. Memory is one strip plus the buildings still open at
    the current strip edge; a building is yielded as soon as a strip shows it has ended."""
    if strip_rows < 1 or height < 0 or width < 1:
        raise InvalidRequest(
            f"cannot polygonise {height}x{width} pixels in strips of {strip_rows} rows"
        )
    state, next_id = _Open(), 0
    for row0 in range(0, height, strip_rows):
        row1 = min(row0 + strip_rows, height)
        strip = np.asarray(read_strip(row0, row1))
        if strip.shape != (row1 - row0, width):
            raise InvalidRequest(
                f"rows {row0}:{row1}: expected a {(row1 - row0, width)} mask, got {strip.shape}"
            )
        labels, polygons = _label_strip(strip, row0)
        closed, next_id = _join(state, labels, polygons, next_id)
        for pieces in closed:
            yield _finish(pieces, transform)
    for pieces in state.pieces.values():
        yield _finish(pieces, transform)
