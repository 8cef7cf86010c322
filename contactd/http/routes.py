"""Every route of the daemon's HTTP side but the phone's (contactd/http/phone.py, which
brings its own service), and the daemon's own: health, readiness and the metrics scrape."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

from contactd import __version__, metrics
from contactd.http import agents, channels, contacts, desk, email, pages, staff
from contactd.http import classifier as api_classifier
from contactd.http import surveys as api_csat
from contactd.http import tickets as api_tickets
from contactd.http.appkeys import BOARD, CLASSIFIER, LEADERSHIP, METRICS, POOL, STATUS, SUPERVISOR
from contactd.http.live import Broadcast
from contactd.store import database, migrations, queries


def add_routes(app: web.Application) -> None:
    """Every route but the phone's, which create_app adds with its calls service."""
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get("/metrics", serve_metrics)
    app.add_routes(contacts.routes)
    app.add_routes(channels.routes)
    app.add_routes(email.routes)
    app.add_routes(staff.routes)
    app.add_routes(agents.routes)
    app.add_routes(desk.routes)
    app.add_routes(api_tickets.routes)
    app.add_routes(api_csat.routes)
    app.router.add_get("/api/board", _live(BOARD, "json"))
    app.router.add_get("/api/board/events", _live(BOARD, "stream"))
    app.router.add_get("/api/status", _live(STATUS, "json"))
    app.router.add_get("/api/status/events", _live(STATUS, "stream"))
    app.add_routes(api_classifier.routes)
    app.add_routes(pages.routes)


def _live(
    key: web.AppKey[Broadcast], view: str
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The board's or status's JSON or event stream (public: numbers and counts only)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        broadcast = request.app[key]
        return await (broadcast.json(request) if view == "json" else broadcast.stream(request))

    return handler


async def health(request: web.Request) -> web.Response:
    """Liveness: the process answers. Says whether this instance leads."""
    app = request.app
    leadership = app.get(LEADERSHIP)
    return web.json_response(
        {
            "status": "ok",
            "version": __version__,
            "instance": leadership.instance_id if leadership else None,
            "leader": bool(leadership and leadership.is_leader),
            "tasks": app[SUPERVISOR].running if SUPERVISOR in app else [],
            "classifier": app[CLASSIFIER].state if CLASSIFIER in app else "off",
        }
    )


async def serve_metrics(request: web.Request) -> web.Response:
    """Prometheus's scrape: this instance's counters, and the queue figures if it leads."""
    return await metrics.serve(request, request.app[METRICS])


async def ready(request: web.Request) -> web.Response:
    """Readiness: the database answers and has the schema this code needs."""
    try:
        async with asyncio.timeout(2):
            version = await request.app[POOL].fetchval(queries.get("schema_ready"))
    except database.ANY_ERROR as exc:
        return web.json_response(
            {"status": "unavailable", "database": f"unreachable: {type(exc).__name__}"}, status=503
        )
    wanted = migrations.latest_version()
    if version != wanted:
        return web.json_response(
            {"status": "unavailable", "database": f"schema {version}, needs {wanted}"}, status=503
        )
    return web.json_response({"status": "ready", "schema": version})
