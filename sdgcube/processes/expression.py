"""Band-math expressions: parsed once into a whitelisted syntax tree, evaluated lazily on xarray.

Only arithmetic, comparisons, numbers, band names and a few numpy functions are allowed, so a
request can never reach Python's builtins or attributes.
"""

from __future__ import annotations

import ast
import functools
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from sdgcube.errors import InvalidRequest

__all__ = ["BandExpression", "parse_expression"]

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Pow: operator.pow,
}  # fmt: skip
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.Eq: operator.eq, ast.NotEq: operator.ne,
}  # fmt: skip
# name -> (function, number of arguments); NaN (nodata) propagates through all of them.
FUNCTIONS: dict[str, tuple[Callable[..., Any], int]] = {
    "abs": (np.abs, 1), "sqrt": (np.sqrt, 1), "log": (np.log, 1), "exp": (np.exp, 1),
    "minimum": (np.minimum, 2), "maximum": (np.maximum, 2), "clip": (np.clip, 3), "where": (xr.where, 3),
}  # fmt: skip
MAX_LENGTH = 500
"""Longest expression accepted: anything longer is not band math, and deep trees exhaust the parser."""


@dataclass(frozen=True)
class BandExpression:
    """A validated expression and the band names it reads."""

    text: str
    tree: ast.Expression
    bands: tuple[str, ...]

    def evaluate(self, bands: Mapping[str, xr.DataArray]) -> xr.DataArray:
        """The expression's value on the grid of its bands; NaN (nodata) wherever one of them is
        NaN, comparisons and where() included, which would otherwise turn nodata into 0 or 1."""
        value = _evaluate(self.tree.body, bands)
        template = bands[self.bands[0]]
        valid = functools.reduce(operator.and_, (bands[name].notnull() for name in self.bands))
        masked = xr.DataArray(value).where(valid)
        # xr.where drops coordinate attributes, among them the CRS of ``spatial_ref``.
        grid = {name: coord for name, coord in template.coords.items() if name not in template.dims}
        return masked.assign_coords(grid)


def _check(node: ast.AST, names: set[str], allowed: set[str]) -> None:
    if isinstance(node, ast.Name):
        if node.id not in allowed:
            raise InvalidRequest(
                f"expression uses {node.id!r}, not a band of this product ({sorted(allowed)})"
            )
        names.add(node.id)
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords:
            raise InvalidRequest(
                f"expression may call only {sorted(FUNCTIONS)} with positional arguments"
            )
        arity = FUNCTIONS[node.func.id][1]
        if len(node.args) != arity:
            raise InvalidRequest(
                f"{node.func.id}() takes {arity} argument(s), not {len(node.args)}"
            )
        for arg in node.args:
            _check(arg, names, allowed)
    elif isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        _check(node.left, names, allowed)
        _check(node.right, names, allowed)
    elif isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        _check(node.operand, names, allowed)
    elif isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
        for child in (node.left, *node.comparators):
            _check(child, names, allowed)
    elif (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        return
    else:
        raise InvalidRequest(f"expression element {ast.unparse(node)!r} is not allowed")


def parse_expression(text: str, bands: set[str]) -> BandExpression:
    """Parse and validate ``text`` against the band names a product offers."""
    if len(text) > MAX_LENGTH:
        raise InvalidRequest(
            f"expression is {len(text)} characters long; the limit is {MAX_LENGTH}"
        )
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise InvalidRequest(f"expression {text!r} is not valid: {exc.msg}") from None
    except UnicodeEncodeError:  # a lone surrogate (JSON "\\ud800") has no UTF-8 form to parse
        raise InvalidRequest(f"expression {text!r} is not valid Unicode text") from None
    except (RecursionError, MemoryError):
        raise InvalidRequest("expression is nested too deeply") from None
    names: set[str] = set()
    _check(tree.body, names, bands)
    if not names:
        raise InvalidRequest(f"expression {text!r} reads no band")
    return BandExpression(text, tree, tuple(sorted(names)))


def _evaluate(node: ast.AST, bands: Mapping[str, xr.DataArray]) -> Any:
    match node:
        case ast.Name(id=name):
            return bands[name]
        case ast.Constant(value=value):
            # As a float, a huge power overflows at once instead of computing a giant integer.
            return float(value)
        case ast.BinOp(left=left, op=op, right=right):
            return _BINARY[type(op)](_evaluate(left, bands), _evaluate(right, bands))
        case ast.UnaryOp(op=op, operand=operand):
            return _UNARY[type(op)](_evaluate(operand, bands))
        case ast.Compare(left=left, ops=ops, comparators=comparators):
            result, current = None, _evaluate(left, bands)
            for op, comparator in zip(ops, comparators, strict=True):
                right = _evaluate(comparator, bands)
                term = _COMPARE[type(op)](current, right)
                result = term if result is None else result & term
                current = right
            return result
        case ast.Call(func=ast.Name(id=name), args=args):
            return FUNCTIONS[name][0](*(_evaluate(arg, bands) for arg in args))
    raise AssertionError(f"unchecked node {ast.dump(node)}")
