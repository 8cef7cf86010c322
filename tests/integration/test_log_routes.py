"""Logs name the route a request matched, never its path: a path carries a contact's
reference or a survey's token, which are keys to personal data (issue 17)."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from structlog.testing import capture_logs

from contactd.http.errors import error_middleware


async def _broken(request: web.Request) -> web.Response:
    raise RuntimeError("a bug")


async def test_a_bug_is_logged_with_the_route_pattern_and_not_the_reference() -> None:
    app = web.Application(middlewares=[error_middleware])
    app.router.add_get("/api/contacts/{reference}", _broken)
    async with TestClient(TestServer(app)) as client:
        with capture_logs() as logs:
            response = await client.get("/api/contacts/P4VK-3XKH")
        assert response.status == 500
        assert (await response.json())["error"]["code"] == "internal_error"
    [logged] = [e for e in logs if e["event"] == "http.unhandled_error"]
    assert logged["route"] == "/api/contacts/{reference}"
    assert "P4VK-3XKH" not in repr(logs)
