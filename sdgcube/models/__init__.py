"""Building segmentation: networks, cards and checked checkpoints, the model registry, training,
evaluation, windowed inference and footprints (torch and the ``ml`` extra)."""
