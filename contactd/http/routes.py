"""Every route of the daemon's HTTP side but the phone's (contactd/http/phone.py, which
brings its own service), and the daemon's own: health, readiness and the metrics scrape,
which answer only the operator's addresses (`metrics.allow_from`)."""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

from channels.public import IpNetwork
from contactd import __version__, metrics
from contactd.http import (
    agents,
    audit,
    channels,
    closures,
    console,
    consult,
    contacts,
    desk,
    email,
    history,
    improvement,
    oidc,
    pages,
    session,
    staff,
    whatif,
    wording,
)
from contactd.http import classifier as api_classifier
from contactd.http import surveys as api_csat
from contactd.http import tickets as api_tickets
from contactd.http.appkeys import BOARD, CLASSIFIER, LEADERSHIP, METRICS, POOL, STATUS, SUPERVISOR
from contactd.http.live import Broadcast
from contactd.store import database, migrations, queries
from routing.errors import DomainError, Kind

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class NotAllowedHere(DomainError):
    """An operational endpoint asked from an address outside `metrics.allow_from`."""

    kind = Kind.FORBIDDEN
    code = "address_not_allowed"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Operators:
    """Who may read /health, /ready and /metrics: the addresses in `allow_from` (Prometheus,
    the load balancer's checks, the container's own health check). A request that came
    through one of `trusted_proxies` is judged by its client's address, as X-Forwarded-For
    gives it; one forwarded by a proxy not trusted is refused, as its client is unknown (a
    reverse proxy on the private network would otherwise let the whole internet in)."""

    allow_from: Sequence[IpNetwork]
    trusted_proxies: Sequence[IpNetwork] = ()

    def allow(self, request: web.Request) -> bool:
        address = self._client(request)
        return address is not None and any(address in net for net in self.allow_from)

    def _client(self, request: web.Request) -> IpAddress | None:
        peer = _ip(request.remote)
        forwarded = [
            part.strip()
            for header in request.headers.getall("X-Forwarded-For", [])
            for part in header.split(",")
        ]
        if peer is None or not self._trusted(peer):
            return None if forwarded or "Forwarded" in request.headers else peer
        for text in reversed(forwarded):  # from the nearest hop: the earlier are the client's
            address = _ip(text)
            if address is None or not self._trusted(address):
                return address
        return peer  # the proxy's own request

    def _trusted(self, address: IpAddress) -> bool:
        return any(address in network for network in self.trusted_proxies)


def _ip(text: str | None) -> IpAddress | None:
    try:
        address = ipaddress.ip_address(text or "")
    except ValueError:
        return None
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return mapped or address


def _operational(operators: Operators, name: str, handler: Handler) -> Handler:
    async def allowed(request: web.Request) -> web.StreamResponse:
        if not operators.allow(request):
            request.app[METRICS].operational_refused.labels(name).inc()
            raise NotAllowedHere(f"/{name} answers only the addresses in metrics.allow_from")
        return await handler(request)

    return allowed


def add_routes(app: web.Application, operators: Operators) -> None:
    """Every route but the phone's, which create_app adds with its calls service; the
    operational ones for `operators` only."""
    app.router.add_get("/health", _operational(operators, "health", health))
    app.router.add_get("/ready", _operational(operators, "ready", ready))
    app.router.add_get("/metrics", _operational(operators, "metrics", serve_metrics))
    app.add_routes(contacts.routes)
    app.add_routes(channels.routes)
    app.add_routes(email.routes)
    app.add_routes(staff.routes)
    app.add_routes(session.routes)
    app.add_routes(oidc.routes)
    app.add_routes(audit.routes)
    app.add_routes(console.routes)
    app.add_routes(closures.routes)
    app.add_routes(history.routes)
    app.add_routes(whatif.routes)
    app.add_routes(improvement.routes)
    app.add_routes(agents.routes)
    app.add_routes(desk.routes)
    app.add_routes(consult.routes)
    app.add_routes(api_tickets.routes)
    app.add_routes(api_csat.routes)
    app.router.add_get("/api/board", _live(BOARD, "json"))
    app.router.add_get("/api/board/events", _live(BOARD, "stream"))
    app.router.add_get("/api/status", _live(STATUS, "json"))
    app.router.add_get("/api/status/events", _live(STATUS, "stream"))
    app.add_routes(api_classifier.routes)
    app.add_routes(pages.routes)
    app.add_routes(wording.routes)


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
