"""The pages (the agent desk; the public callback booking form; the service centre's kiosk,
board and status) and the reference data the desk shows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib import resources

from aiohttp import web

from contactd.http import auth
from contactd.http.appkeys import AGENCY
from contactd.store.staff import Role

routes = web.RouteTableDef()
PAGES = resources.files("contactd.http").joinpath("static")
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


# Each page is one HTML file; who may use it is up to the API it calls.
PAGE_FILES = {
    "/desk": "desk.html",  # caseworkers (sign in with their token)
    "/callback": "callback.html",  # public: book a callback
    "/kiosk": "kiosk.html",  # the front desk issues tickets (sign in)
    "/board": "board.html",  # public: the waiting room's screen
    "/status": "status.html",  # public: the service centre's queues
    "/console": "console.html",  # supervisors and administrators (sign in)
    # "/s/{token}": csat.html, the public satisfaction survey, is served by api_csat with
    # the status of its token (404, 409, 410).
}


def _page(name: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def page(request: web.Request) -> web.Response:
        return _file(name)

    return page


for _path, _name in PAGE_FILES.items():
    routes.get(_path)(_page(_name))


@routes.get("/static/{name}")
async def static_file(request: web.Request) -> web.Response:
    return _file(request.match_info["name"])


@routes.get("/api/reference")
@auth.require(Role.AGENT, Role.FRONTDESK, Role.SUPERVISOR)
async def reference(request: web.Request) -> web.Response:
    """Case types and queues with their names in Danish and English, for the pages."""
    agency = request.app[AGENCY]
    return web.json_response(
        {
            "case_types": [
                {"code": c.code, "da": c.name_da, "en": c.name_en, **c.names}
                for c in agency.case_types.values()
            ],
            "queues": [
                {
                    "code": q.code,
                    "da": q.name_da,
                    "en": q.name_en,
                    **q.names,
                    "wrap_up": list(q.wrap_up),
                    "wrap_up_required": q.wrap_up_required,
                }
                for q in agency.queues
            ],
            "wrap_up_codes": {
                code: {"da": w.da, "en": w.en} for code, w in agency.wrap_up_codes.items()
            },
        }
    )
