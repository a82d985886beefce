"""Fixtures of the process tests."""

from __future__ import annotations

from typing import Any

import pytest

from sdgcube.processes.base import CubeProcessor
from sdgcube.processes.services import Services


@pytest.fixture
def demo_services(demo) -> Services:
    """Services around the demo cube, as a server hands them to its processors."""
    cube, _ = demo
    return Services.of(cube)


@pytest.fixture
def build_processor(demo_services):
    """``build_processor(Cls, process_id)``: a processor defined the way the server defines it."""

    def build(cls: type[CubeProcessor], process_id: str) -> Any:
        return cls({"name": process_id, "services": demo_services})

    return build
