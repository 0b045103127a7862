"""Server-Sent Events for live pages: a stream that polls for the current values and sends
those that changed.

A live route returns `event_stream(poll)`; `poll` (run in a worker thread, so it may use the
database) returns every event the page listens to, named as the page's `sse-swap` attributes
name them, with the HTML to put there. The first poll sends them all (the page may have been
rendered a moment before), later polls only what changed. A stream ends after
`STREAM_LIFETIME_S` (the browser's EventSource reconnects, and the route checks access again)
or as soon as the browser goes (Starlette cancels it on the disconnect).
"""

import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

import anyio
from starlette.responses import StreamingResponse

POLL_INTERVAL_S = 0.25
STREAM_LIFETIME_S = 300.0
HEARTBEAT_S = 15.0
RECONNECT_MS = 1000


@dataclass(frozen=True)
class ServerEvent:
    name: str
    data: str
    """HTML, for the element whose `sse-swap` is `name`."""


def event_text(event: ServerEvent) -> str:
    lines = event.data.splitlines() or [""]
    return f"event: {event.name}\n" + "".join(f"data: {line}\n" for line in lines) + "\n"


def event_stream(
    poll: Callable[[], Sequence[ServerEvent]],
    *,
    interval_s: float = POLL_INTERVAL_S,
    lifetime_s: float = STREAM_LIFETIME_S,
) -> StreamingResponse:
    return StreamingResponse(
        _events(poll, interval_s, lifetime_s),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


_open_streams = 0


def open_streams() -> int:
    """How many streams this process is sending now."""
    return _open_streams


async def _events(
    poll: Callable[[], Sequence[ServerEvent]], interval_s: float, lifetime_s: float
) -> AsyncIterator[str]:
    global _open_streams  # one counter per process, changed on the event loop only
    _open_streams += 1
    try:
        async for text in _changes(poll, interval_s, lifetime_s):
            yield text
    finally:
        _open_streams -= 1


async def _changes(
    poll: Callable[[], Sequence[ServerEvent]], interval_s: float, lifetime_s: float
) -> AsyncIterator[str]:
    started = last_sent_at = time.monotonic()
    sent: dict[str, str] = {}
    yield f"retry: {RECONNECT_MS}\n\n"
    while time.monotonic() - started < lifetime_s:
        changed = [
            event
            for event in await anyio.to_thread.run_sync(poll)
            if sent.get(event.name) != event.data
        ]
        for event in changed:
            sent[event.name] = event.data
            yield event_text(event)
        if changed:
            last_sent_at = time.monotonic()
        elif time.monotonic() - last_sent_at > HEARTBEAT_S:
            last_sent_at = time.monotonic()
            yield ": still here\n\n"
        await anyio.sleep(interval_s)
