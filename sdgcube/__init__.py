"""sdgcube: an open, standards-based Big Earth Data server for monitoring the UN SDGs.

``sdgcube.open_cube()`` opens the configured Open Data Cube index; see ``sdgcube.datacube``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sdgcube._deferred_imports import defer_rfc3987_syntax

__version__ = "0.1.0"
__all__ = ["Cube", "Settings", "__version__", "open_cube"]

if TYPE_CHECKING:
    from sdgcube.datacube.cube import Cube, open_cube
    from sdgcube.settings import Settings

defer_rfc3987_syntax()


def __getattr__(name: str) -> Any:
    # Importing ODC takes seconds; the CLI and settings must not pay for it before they need it.
    if name in ("open_cube", "Cube"):
        from sdgcube.datacube import cube

        return getattr(cube, name)
    if name == "Settings":
        from sdgcube.settings import Settings

        return Settings
    raise AttributeError(f"module 'sdgcube' has no attribute {name!r}")
