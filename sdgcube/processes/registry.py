"""Every process the server publishes: OGC process id -> processor class (dotted path)."""

from __future__ import annotations

__all__ = ["PROCESSES"]

PROCESSES: dict[str, str] = {
    "band-math": "sdgcube.processes.band_math.BandMath",
}
