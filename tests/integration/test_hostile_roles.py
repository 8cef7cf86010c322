"""One role using another's endpoints: every route the router has, called with no token, a
bad one, a disabled person's, and each role's. The roles that get through sign-in are those
the reference's table names, and the code's `auth.require` says the same."""

from __future__ import annotations

import inspect
import re
from collections.abc import AsyncIterator

import pytest

from contactd.store.staff import Role
from tests.conftest import ROOT
from tests.integration import hostile
from tests.integration.hostile import World

PUBLIC, TWILIO = "anyone", "twilio"
Who = frozenset[str]  # roles, or {PUBLIC}, or {TWILIO}
STAFF = frozenset(r.value for r in Role)


@pytest.fixture
async def world(db_url: str) -> AsyncIterator[World]:
    async with hostile.running(db_url) as w:
        yield w


def documented_roles() -> dict[tuple[str, str], Who]:
    """The table at the top of docs/reference/http-api.md: (method, path) -> who."""
    text = (ROOT / "docs" / "reference" / "http-api.md").read_text()
    table = text.split("| Method and path | Who may call it |", 1)[1].split("\n\n", 1)[0]
    found: dict[tuple[str, str], Who] = {}
    for line in table.splitlines()[2:]:
        first, cell = (c.strip() for c in line.strip("|").split("|", 1))
        cell = cell.strip(" |")
        if "Twilio" in cell:
            who: Who = frozenset({TWILIO})
        elif cell.startswith("anyone"):
            who = frozenset({PUBLIC})
        elif cell.startswith("any signed-in"):
            who = STAFF
        else:  # "supervisor, admin (any contact); agent, frontdesk: only ..." names all four
            who = frozenset(re.findall(r"\b(agent|frontdesk|supervisor|admin)\b", cell))
        method = ""
        for item in re.findall(r"`([^`]+)`", first):  # "`POST /twilio/voice`, `/twilio/menu`"
            if " " in item:
                method, path = item.split(" ", 1)
            else:
                path = item
            found[(method, path)] = who
    return found


def coded_roles(world: World) -> dict[tuple[str, str], Who]:
    """What the router has: a handler wrapped by auth.require keeps its roles in the
    wrapper's closure; /twilio/ is signed by Twilio; anything else is public."""
    found: dict[tuple[str, str], Who] = {}
    for route in world.client.app.router.routes():
        if route.method == "HEAD" or route.resource is None:
            continue  # HEAD runs the GET handler
        path = route.resource.canonical
        if path.startswith("/twilio/"):
            who: Who = frozenset({TWILIO})
        elif hasattr(route.handler, "__wrapped__"):
            allowed = inspect.getclosurevars(route.handler).nonlocals["allowed"]
            who = frozenset(r.value for r in allowed)
        else:
            who = frozenset({PUBLIC})
        found[(route.method, path)] = who
    return found


async def test_the_reference_names_every_route_with_the_roles_the_code_checks(
    world: World,
) -> None:
    def named_alike(table: dict[tuple[str, str], Who]) -> dict[tuple[str, str], Who]:
        return {(m, re.sub(r"\{\w+\}", "{}", p)): who for (m, p), who in table.items()}

    assert named_alike(coded_roles(world)) == named_alike(documented_roles())


def _concrete(path: str) -> str:
    """The route with parameters that name nothing: a call that gets through sign-in is
    refused later (404), so the calls change nothing."""
    return (
        path.replace("{reference}", "AAAA-AAAA").replace("{login}", "nobody")
        .replace("{message}", "1").replace("{index}", "0").replace("{name}", "nothing.js")
        .replace("{token}", "A" * 28).replace("{id}", "1")
    )  # fmt: skip


async def test_each_role_gets_through_only_where_the_reference_lets_it(world: World) -> None:
    credentials = {
        "nobody": {},
        "a bad token": {"Authorization": "Bearer cdt_" + "x" * 43},
        "a disabled admin": world.role("disabled"),
        "a token of another scheme": {"Authorization": "Basic " + "x" * 20},
        **{role: world.role(role) for role in ("agent", "frontdesk", "supervisor", "admin")},
    }
    for (method, path), who in sorted(coded_roles(world).items()):
        for name, headers in credentials.items():
            what = f"{name}: {method} {path}"
            before = await hostile.digest(world.pool)
            async with world.client.session.request(
                method, hostile.raw_url(world.client, _concrete(path)), json={}, headers=headers
            ) as response:
                error = await hostile.check_answer(response, what)
                # An event stream that opened: leave it (closing the connection ends it).
            code = error["code"] if error else None
            if error is not None:
                assert hostile.changed(before, await hostile.digest(world.pool)) == [], what
            if TWILIO in who:
                assert code == "bad_signature", what  # a staff token opens nothing there
            elif PUBLIC in who or name in who:
                assert code not in ("unauthorized", "forbidden", "bad_signature"), what
            elif name in STAFF:
                assert (response.status, code) == (403, "forbidden"), what
            else:
                assert (response.status, code) == (401, "unauthorized"), what
                assert response.headers["WWW-Authenticate"] == 'Bearer realm="contactd"', what
