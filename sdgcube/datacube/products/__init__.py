"""The built-in eo3 product definitions, one YAML file each beside this module."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

__all__ = ["PRODUCTS_DIR", "builtin_product_docs", "builtin_product_names"]

PRODUCTS_DIR = Path(__file__).parent


@cache
def _load_docs() -> tuple[dict[str, Any], ...]:
    docs = []
    for path in sorted(PRODUCTS_DIR.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        if doc["name"] != path.stem:
            raise ValueError(f"{path.name} defines product {doc['name']!r}; the file must match")
        docs.append(doc)
    return tuple(docs)


def builtin_product_docs() -> list[dict[str, Any]]:
    """Fresh copies of the built-in product documents, ready for ODC."""
    return [yaml.safe_load(yaml.safe_dump(doc)) for doc in _load_docs()]


def builtin_product_names() -> list[str]:
    return [doc["name"] for doc in _load_docs()]
