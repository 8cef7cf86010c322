"""The pages (the agent desk; the public callback booking form; the service centre's kiosk,
board and status) and the reference data the desk shows."""

from __future__ import annotations

from importlib import resources

from aiohttp import web

from contactd import auth
from contactd.appkeys import SETTINGS
from contactd.staff import Role

routes = web.RouteTableDef()
PAGES = resources.files("contactd").joinpath("pages")
TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
# The pages load only their own files; nothing inline, nothing from elsewhere.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _file(name: str) -> web.Response:
    path = PAGES.joinpath(name)
    suffix = "." + name.rsplit(".", 1)[-1]
    if suffix not in TYPES or "/" in name or not path.is_file():
        raise web.HTTPNotFound()
    return web.Response(
        body=path.read_bytes(),
        content_type=TYPES[suffix],
        charset="utf-8",
        headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"},
    )


@routes.get("/desk")
async def desk_page(request: web.Request) -> web.Response:
    return _file("desk.html")


@routes.get("/callback")
async def callback_page(request: web.Request) -> web.Response:
    """The public booking form for callbacks (no sign-in)."""
    return _file("callback.html")


@routes.get("/kiosk")
async def kiosk_page(request: web.Request) -> web.Response:
    """The front desk's ticket kiosk (staff sign in with their token)."""
    return _file("kiosk.html")


@routes.get("/board")
async def board_page(request: web.Request) -> web.Response:
    """The waiting-room display board (public: ticket numbers and counters only)."""
    return _file("board.html")


@routes.get("/status")
async def status_page(request: web.Request) -> web.Response:
    """The public status of the service centre's queues (no sign-in)."""
    return _file("status.html")


@routes.get("/static/{name}")
async def static_file(request: web.Request) -> web.Response:
    return _file(request.match_info["name"])


@routes.get("/api/reference")
@auth.require(Role.AGENT, Role.FRONTDESK, Role.SUPERVISOR)
async def reference(request: web.Request) -> web.Response:
    """Case types and queues with their names in Danish and English, for the pages."""
    settings = request.app[SETTINGS]
    return web.json_response(
        {
            "case_types": [
                {"code": c.code, "da": c.name_da, "en": c.name_en}
                for c in settings.case_types.values()
            ],
            "queues": [{"code": q.code, "da": q.name_da, "en": q.name_en} for q in settings.queues],
        }
    )
