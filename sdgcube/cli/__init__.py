"""The ``sdgcube`` command line."""

from sdgcube.cli.app import app, main

__all__ = ["app", "main"]
