"""The daemon seen from outside, on /metrics: every HTTP request counted and timed by the
template of its route, the event loop's lag, and the process's own figures (process_*,
python_*). docs/reference/metrics.md lists the series.

Labels stay bounded whatever clients send. `route` is the template a request matched
(`/api/desk/contacts/{reference}/accept`), never its path, which carries references, survey
tokens and other keys; a request no route matched (404, or 405 for a method the path does
not take) is `unmatched`. `method` is one of the HTTP verbs the daemon serves, any other
`other`. `status` is the code answered: the daemon chooses it from the few its handlers and
contactd/http/errors.py give, so it tells 401 from 404, 422 and 429 at no risk of growing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

from contactd.http.errors import error_middleware

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# From a JSON answer in milliseconds to a report or an export of several seconds.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
# A healthy loop wakes a sleeper within a millisecond; a second is a daemon that has stalled.
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
LAG_INTERVAL_SECONDS = 0.25
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
# A server-sent event stream lasts as long as its reader: it is counted and timed when its
# headers go out (the time to its first byte), not when it ends hours later.
EVENT_STREAM = "text/event-stream"
CANCELLED = "cancelled"
_STARTED = web.RequestKey("observed_started", float)
_RECORDED = web.RequestKey("observed_recorded", bool)


class Observed:
    """The request, loop and process metrics, in the instance's registry (contactd/metrics.py)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "contactd_http_requests",
            "HTTP requests answered, by route template, method and status code.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "contactd_http_request_duration_seconds",
            "From a request's arrival to its answer (an event stream: to its headers).",
            ["route", "method"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.loop_lag = Histogram(
            "contactd_event_loop_lag_seconds",
            f"How late the event loop woke a sleep of {LAG_INTERVAL_SECONDS} s.",
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        # What a custom registry leaves out: memory, CPU, file descriptors, GC, Python.
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)

    def record(self, request: web.Request, status: str, *, timed: bool = True) -> None:
        """Count a request once, and time it unless it was cancelled (no answer to time)."""
        request[_RECORDED] = True
        route, method = route_label(request), method_label(request)
        self.requests.labels(route, method, status).inc()
        if timed:
            waited = asyncio.get_running_loop().time() - request[_STARTED]
            self.duration.labels(route, method).observe(waited)

    async def watch_loop(self) -> None:
        """Sleep, and measure how late the loop wakes us: the time every coroutine ready to
        run waits for the loop, busy with others (a blocking call, a long computation)."""
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + LAG_INTERVAL_SECONDS
            await asyncio.sleep(LAG_INTERVAL_SECONDS)
            self.loop_lag.observe(max(0.0, loop.time() - due))


OBSERVED = web.AppKey("observed", Observed)


def install(app: web.Application, registry: CollectorRegistry) -> None:
    """The metrics in `registry`, for `observe`; event streams recorded at their headers."""
    app[OBSERVED] = Observed(registry)
    app.on_response_prepare.append(_stream_prepared)


def route_label(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED


def method_label(request: web.Request) -> str:
    return request.method if request.method in METHODS else "other"


@web.middleware
async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count and time every request. Outermost, so it sees the status that the error
    middleware gave an error (every error leaves it as an HTTP exception)."""
    request[_STARTED] = asyncio.get_running_loop().time()
    status, timed = "500", True
    try:
        response = await handler(request)
        status = str(response.status)
        return response
    except web.HTTPException as exc:
        status = str(exc.status)
        raise
    except asyncio.CancelledError:
        status, timed = CANCELLED, False
        raise
    finally:
        if not request.get(_RECORDED):  # an event stream was, when it began
            request.config_dict[OBSERVED].record(request, status, timed=timed)


async def _stream_prepared(request: web.Request, response: web.StreamResponse) -> None:
    if response.content_type == EVENT_STREAM and _STARTED in request:
        request.config_dict[OBSERVED].record(request, str(response.status))


# Outermost first: `observe` around the error middleware, around every handler.
MIDDLEWARES = (observe, error_middleware)
