"""The admin API for staff: who may sign in, with which role."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from contactd.http import auth
from contactd.http.errors import Text, no_body, read_body
from contactd.services.staff import StaffDirectory
from contactd.store.staff import Role, Staff, StaffNotFound

routes = web.RouteTableDef()
DIRECTORY = web.AppKey("staff_directory", StaffDirectory)
# The staff table's check: a login in a URL that does not match names no one, and is not
# sent to PostgreSQL (which refuses a NUL in text with an error, not an empty answer).
LOGIN = r"^[a-z0-9][a-z0-9._-]{0,62}$"


def login_of(request: web.Request) -> str:
    """The URL's login, or 404 when it cannot be anyone's."""
    login = request.match_info["login"]
    if not re.fullmatch(LOGIN, login):
        raise StaffNotFound(login)
    return login


def directory(request: web.Request) -> StaffDirectory:
    return request.app[DIRECTORY]


class NewStaffBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    login: Annotated[str, Field(pattern=LOGIN)]
    name: Annotated[Text, Field(min_length=1, max_length=200)]
    role: Role


@routes.get("/api/me")
@auth.require(Role.AGENT, Role.FRONTDESK, Role.SUPERVISOR)
async def me(request: web.Request) -> web.Response:
    return web.json_response(staff_json(auth.current(request)))


@routes.get("/api/staff")
@auth.require(Role.ADMIN)
async def list_staff(request: web.Request) -> web.Response:
    people = await directory(request).everyone()
    return web.json_response({"staff": [staff_json(p) for p in people]})


@routes.post("/api/staff")
@auth.require(Role.ADMIN)
async def add_staff(request: web.Request) -> web.Response:
    body = await read_body(request, NewStaffBody)
    person, token = await directory(request).add(
        login=body.login, name=body.name, role=body.role, by=auth.current(request)
    )
    return web.json_response({**staff_json(person), "token": token}, status=201)


class ChangeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[Text, Field(min_length=1, max_length=200)] | None = None
    role: Role | None = None


@routes.patch("/api/staff/{login}")
@auth.require(Role.ADMIN)
async def change_staff(request: web.Request) -> web.Response:
    """A new name or role (not one's own role: another admin does that)."""
    login = login_of(request)
    body = await read_body(request, ChangeBody)
    person = await directory(request).change(
        login, name=body.name, role=body.role, by=auth.current(request)
    )
    return web.json_response(staff_json(person))


@routes.post("/api/staff/{login}/disable")
@auth.require(Role.ADMIN)
async def disable_staff(request: web.Request) -> web.Response:
    await no_body(request)
    person = await directory(request).disable(login_of(request), by=auth.current(request))
    return web.json_response(staff_json(person))


@routes.post("/api/staff/{login}/token")
@auth.require(Role.SUPERVISOR)
async def rotate_token(request: web.Request) -> web.Response:
    """A new token, shown once; the old one stops working. A disabled person stays disabled."""
    await no_body(request)
    person, token = await directory(request).rotate(login_of(request), by=auth.current(request))
    return web.json_response({**staff_json(person), "token": token})


@routes.delete("/api/staff/{login}/token")
@auth.require(Role.SUPERVISOR)
async def revoke_token(request: web.Request) -> web.Response:
    """The person's token stops working at once; their sessions go on."""
    await no_body(request)
    person = await directory(request).revoke(login_of(request), by=auth.current(request))
    return web.json_response(staff_json(person))


@routes.post("/api/staff/{login}/enable")
@auth.require(Role.ADMIN)
async def enable_staff(request: web.Request) -> web.Response:
    """A disabled person enabled again, with a new token shown once."""
    await no_body(request)
    person, token = await directory(request).enable(login_of(request), by=auth.current(request))
    return web.json_response({**staff_json(person), "token": token})


def staff_json(p: Staff) -> dict[str, Any]:
    return {
        "login": p.login,
        "name": p.name,
        "role": p.role,
        "created_at": p.created_at.isoformat(),
        "disabled": p.disabled_at is not None,
        "token_expires_at": _iso(p.token_expires_at),
        "token_at": _iso(p.token_at),
        "single_sign_on": p.oidc_subject is not None,
    }


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None
