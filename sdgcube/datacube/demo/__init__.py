"""The synthetic demo archive: a small island in UTM with planted events and exact ground truth."""

from __future__ import annotations

from sdgcube.datacube.demo.generate import CHIPS_PER_SIZE, SIZES, generate_demo

__all__ = ["CHIPS_PER_SIZE", "SIZES", "generate_demo"]
