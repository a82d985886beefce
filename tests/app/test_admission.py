"""Admission control in front of the renderer: a bound on concurrent renders, served in arrival order,
a slot freed as soon as the response starts, and metadata requests never queued."""

from __future__ import annotations

import asyncio

import pytest

from sdgcube.app.admission import RenderAdmission
from sdgcube.tiles.app import RENDER_ROUTES

TILE = "/tiles/collections/sr_annual/tiles/WebMercatorQuad/14/16164/10245.png"


class _Recorder:
    """An ASGI app whose requests each wait until the test lets them finish."""

    def __init__(self) -> None:
        self.entered: list[int] = []
        self.running = 0
        self.most_running = 0
        self.finish: dict[int, asyncio.Event] = {}

    async def __call__(self, scope, receive, send) -> None:
        number = scope["number"]
        self.entered.append(number)
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        await self.finish.setdefault(number, asyncio.Event()).wait()
        self.running -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def _noop_send(message) -> None:
    pass


async def _receive():
    return {"type": "http.request", "body": b""}


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def _request(app, number: int, path: str = TILE) -> asyncio.Task:
    scope = {"type": "http", "number": number, "path": path, "root_path": "/tiles"}
    return asyncio.create_task(app(scope, _receive, _noop_send))


def test_at_most_limit_run_and_the_others_enter_in_arrival_order():
    async def scenario() -> tuple[list[int], int]:
        inner = _Recorder()
        app = RenderAdmission(inner, limit=2, renders=RENDER_ROUTES)
        tasks = []
        for number in range(8):
            tasks.append(_request(app, number))
            await _settle()  # each request is waiting before the next one arrives
        assert inner.entered == [0, 1]
        # Finish the running ones last-first: whoever waited longest still goes next.
        for number in (1, 0, 3, 2, 5, 4, 7, 6):
            inner.finish.setdefault(number, asyncio.Event()).set()
            await _settle()
            # A newcomer arriving while others wait must queue behind them.
            if number == 0:
                tasks.append(_request(app, 8))
                await _settle()
        inner.finish.setdefault(8, asyncio.Event()).set()
        await asyncio.gather(*tasks)
        return inner.entered, inner.most_running

    entered, most_running = asyncio.run(scenario())
    assert most_running == 2
    assert entered == [0, 1, 2, 3, 4, 5, 6, 7, 8]


def test_a_slot_is_free_once_the_response_has_started():
    async def scenario() -> list[str]:
        events: list[str] = []
        body_sent = asyncio.Event()

        async def slow_body(scope, receive, send) -> None:
            events.append(f"start {scope['number']}")
            await send({"type": "http.response.start", "status": 200, "headers": []})
            if scope["number"] == 0:
                await body_sent.wait()  # a slow client: the body is still on its way
            await send({"type": "http.response.body", "body": b""})
            events.append(f"done {scope['number']}")

        app = RenderAdmission(slow_body, limit=1, renders=RENDER_ROUTES)
        first = _request(app, 0)
        await _settle()
        second = _request(app, 1)
        await _settle()
        events.append("second served while the first is still sending")
        body_sent.set()
        await asyncio.gather(first, second)
        return events

    assert asyncio.run(scenario()) == [
        "start 0",
        "start 1",
        "done 1",
        "second served while the first is still sending",
        "done 0",
    ]


def test_an_error_gives_the_slot_back():
    async def scenario() -> None:
        async def failing(scope, receive, send) -> None:
            raise RuntimeError("render failed")

        app = RenderAdmission(failing, limit=1, renders=RENDER_ROUTES)
        for number in range(3):  # would wait forever if the first failure kept its slot
            with pytest.raises(RuntimeError):
                await asyncio.wait_for(_request(app, number), 1)

    asyncio.run(scenario())


def test_a_limit_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        RenderAdmission(_Recorder(), limit=0, renders=RENDER_ROUTES)


def test_metadata_requests_do_not_wait_behind_renders():
    async def scenario() -> list[int]:
        inner = _Recorder()
        app = RenderAdmission(inner, limit=1, renders=RENDER_ROUTES)
        render, queued = _request(app, 0), _request(app, 1)
        await _settle()
        tilejson = _request(app, 2, "/tiles/collections/sr_annual/WebMercatorQuad/tilejson.json")
        await _settle()
        entered = list(inner.entered)
        for number in range(3):
            inner.finish.setdefault(number, asyncio.Event()).set()
        await asyncio.gather(render, queued, tilejson)
        return entered

    assert asyncio.run(scenario()) == [0, 2]  # the TileJSON is answered; the second tile waits


@pytest.mark.parametrize(
    ("path", "renders"),
    [
        ("/collections/sr_annual/tiles/WebMercatorQuad/14/16164/10245.png", True),
        ("/collections/sr_annual/tiles/WebMercatorQuad/14/16164/10245@2x.webp", True),
        ("/collections/sr_annual/tiles/WebMercatorQuad/3/1/2", True),
        ("/collections/sr_annual/wms", True),
        ("/collections/sr_annual/bbox/1,2,3,4/256x256.png", True),
        ("/collections/sr_annual/preview.png", True),
        ("/collections/sr_annual/feature/256x256.png", True),
        ("/collections/sr_annual/point/178.3,-41.4", True),
        ("/collections/sr_annual/statistics", True),
        ("/collections/sr_annual/tiles/WebMercatorQuad", False),
        ("/collections/sr_annual/tiles", False),
        ("/collections/sr_annual/WebMercatorQuad/tilejson.json", False),
        ("/collections/sr_annual/WMTSCapabilities.xml", False),
        ("/collections/sr_annual/info", False),
        ("/collections/sr_annual/WebMercatorQuad/map.html", False),
        ("/tileMatrixSets/WebMercatorQuad", False),
    ],
)
def test_render_routes(path, renders):
    assert bool(RENDER_ROUTES.match(path)) is renders


def test_a_response_that_had_to_wait_closes_its_connection():
    async def scenario() -> list[list]:
        inner = _Recorder()
        app = RenderAdmission(inner, limit=1, renders=RENDER_ROUTES)
        sent: dict[int, list] = {0: [], 1: []}
        tasks = []
        for number in (0, 1):

            async def send(message, number=number) -> None:
                sent[number].append(message)

            scope = {"type": "http", "number": number, "path": TILE, "root_path": "/tiles"}
            tasks.append(asyncio.create_task(app(scope, _receive, send)))
            await _settle()
        for number in (0, 1):
            inner.finish.setdefault(number, asyncio.Event()).set()
        await asyncio.gather(*tasks)
        return [sent[n][0]["headers"] for n in (0, 1)]

    served_at_once, queued = asyncio.run(scenario())
    assert (b"connection", b"close") not in served_at_once
    assert (b"connection", b"close") in queued
