"""Admission control in front of the map renderer: a few renders at a time, the rest wait in order.

Without it the event loop hands every tile request to a thread at once; under load dozens of renders
share the cores and the GIL, and which of them finishes next is left to the schedulers, so some
clients wait five times longer than others (``benchmarks/bench_load.py``). With only about as many
renders running as there are cores and the others queued in arrival order, a request's latency is
its place in the queue times the render time: the same for everybody, and no slower overall.
"""

from __future__ import annotations

import asyncio
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RenderAdmission"]

_CLOSE = (b"connection", b"close")


class RenderAdmission:
    """Lets at most ``limit`` rendering requests into ``app`` at once, the others in FIFO order.

    A request renders when its path below the mount matches ``renders``; the others (TileJSON,
    capabilities, tile set metadata) pass straight through rather than wait behind images.
    ``asyncio.Semaphore`` wakes its waiters in the order they came and lets no newcomer overtake
    them. A slot is given back when the response starts: the image is rendered by then, and sending
    it to a slow client must not keep the next request waiting. A response that had to queue closes
    its connection: each web worker has its own queue, and a client kept alive on the busier worker
    would wait longer every time; the next connection goes to whichever worker accepts it first."""

    def __init__(self, app: ASGIApp, *, limit: int, renders: re.Pattern[str]) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        self.app = app
        self.limit = limit
        self.renders = renders
        self._slots = asyncio.Semaphore(limit)

    def _admitted(self, scope: Scope) -> bool:
        if scope["type"] != "http":
            return False
        path, root = scope["path"], scope.get("root_path", "")
        return bool(self.renders.match(path.removeprefix(root)))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._admitted(scope):
            await self.app(scope, receive, send)
            return
        queued = self._slots.locked()
        await self._slots.acquire()
        held = True

        def release() -> None:
            nonlocal held
            if held:
                held = False
                self._slots.release()

        async def send_releasing(message: Message) -> None:
            if message["type"] == "http.response.start":
                release()
                if queued:
                    message = {**message, "headers": [*message.get("headers", []), _CLOSE]}
            await send(message)

        try:
            await self.app(scope, receive, send_releasing)
        finally:
            release()
