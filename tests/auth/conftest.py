"""An engine on a fresh database of each index backend, shared by a test module's stores."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from sdgcube.datacube.database import resolve_index
from sdgcube.settings import Settings


@pytest.fixture(scope="module")
def engine(bare_settings: Settings) -> Iterator[sa.Engine]:
    engine = sa.create_engine(resolve_index(bare_settings).url)
    yield engine
    engine.dispose()
