"""Torch segmentation models behind one ``predict(chips) -> masks`` protocol."""
