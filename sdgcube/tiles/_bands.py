"""Which bands a request reads, and band-math expressions rewritten onto rio-tiler's ``b1…bn``.

Clients write expressions with measurement names or their aliases (``(nir08-red)/(nir08+red)``);
rio-tiler evaluates expressions over ``b1…bn``. Names are resolved against the product definition,
so an unknown band is the client's error (400), never a server error.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence

from rio_tiler.expression import get_expression_blocks, validate_expression

from sdgcube.datacube.bands import Band
from sdgcube.tiles.catalog import Selection

__all__ = ["requested_bands", "rewrite_expression"]

_IDENTIFIER = re.compile(r"\b[a-z_][a-z0-9_]*\b")


def _band_names(expression: str) -> list[str]:
    """Identifiers that are operands, not function names, in order of first appearance."""
    names: list[str] = []
    for block in get_expression_blocks(validate_expression(expression)):
        tree = ast.parse(block, mode="eval")
        called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
        operands = sorted(
            (n for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in called),
            key=lambda n: n.col_offset,
        )
        names.extend(n.id for n in operands if n.id not in names)
    return names


def requested_bands(
    selection: Selection, bands: Sequence[str] | None, expression: str | None
) -> tuple[Band, ...]:
    """The bands to read: those of the expression if any, else ``bands``, else all of them."""
    if expression:
        names = _band_names(expression.lower())
        resolved = selection.resolve(names)
        return tuple(dict.fromkeys(resolved))
    if bands:
        return selection.resolve(bands)
    return selection.bands


def rewrite_expression(selection: Selection, expression: str, bands: Sequence[Band]) -> str:
    """``expression`` with each band name or alias replaced by its ``b<i>`` among ``bands``."""
    position = {b.name: i for i, b in enumerate(bands, start=1)}
    known = selection.product_bands.every_name

    def replace(match: re.Match[str]) -> str:
        name = match.group()
        band = selection.product_bands[name] if name in known else None
        return f"b{position[band.name]}" if band is not None and band.name in position else name

    return _IDENTIFIER.sub(replace, expression.lower())
