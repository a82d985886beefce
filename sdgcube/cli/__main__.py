from __future__ import annotations

from sdgcube.cli import main

main()
