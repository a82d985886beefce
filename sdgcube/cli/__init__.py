"""The ``sdgcube`` command line."""

from __future__ import annotations

from sdgcube.cli.app import app, main

__all__ = ["app", "main"]
