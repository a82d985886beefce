"""Every process the server publishes: OGC process id -> processor class (dotted path)."""

from __future__ import annotations

from importlib.util import find_spec

__all__ = ["PROCESSES"]

PROCESSES: dict[str, str] = {
    "band-math": "sdgcube.processes.band_math.BandMath",
    "sdg-15-3-1": "sdgcube.processes.sdg_15_3_1.Sdg1531",
    "sdg-15-1-1": "sdgcube.processes.sdg_15_1_1.Sdg1511",
    "sdg-6-6-1": "sdgcube.processes.sdg_6_6_1.Sdg661",
    "sdg-11-3-1": "sdgcube.processes.sdg_11_3_1.Sdg1131",
    "sdg-13-1-1": "sdgcube.processes.sdg_13_1_1.Sdg1311",
    "burnt-area": "sdgcube.processes.burnt_area.BurntArea",
}
if find_spec("torch") and find_spec("segmentation_models_pytorch"):  # the ``ml`` extra
    PROCESSES["building-segmentation"] = (
        "sdgcube.processes.building_segmentation.BuildingSegmentation"
    )
