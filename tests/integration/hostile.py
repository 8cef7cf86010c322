"""What the hostile-input tests share: a daemon with a small world in it (staff of every role,
contacts in every state an action needs, an e-mail with an attachment, a ticket, a survey),
a digest of every table a request may change, and the check that an answer is a documented
error.

The daemon is a follower: the test holds the leader lock before it starts, so no router,
timer or outbox changes a table between two digests; only the request under test can.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote

import aiohttp
import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web_runner import BaseRunner
from twilio.request_validator import RequestValidator
from yarl import URL

from channels.email.imap import IncomingMail
from channels.email.message import parse
from channels.public import Limiter
from contactd import settings
from contactd.app import create_app
from contactd.clock import FixedClock
from contactd.http import auth
from contactd.http import errors as http_errors
from contactd.http import surveys as api_csat
from contactd.http.appkeys import CLOCK, INTAKE, POOL, SETTINGS
from contactd.leader.election import LEADER_LOCK
from contactd.metrics import NOT_RECORDED
from contactd.services import surveys, tickets
from contactd.services.inbox import Inbox
from contactd.store import contacts as store
from contactd.store.staff import Role
from routing.contact import Action
from tests.conftest import ROOT, WORKDAY, token_for

Client = TestClient[web.Request, web.Application]
Headers = dict[str, str]

TWILIO_TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC = "https://contact.example.dk"
AGENCY = "kontakt@nyidanmark.example"
MAX_BODY = 64 * 1024

# Every table a request may write. A rejected request must leave each exactly as it was.
TABLES = (
    "contacts", "contact_events", "outbox", "staff", "agents", "offers", "tickets",
    "ticket_days", "csat", "messages", "case_type_corrections", "signing_keys", "channel_status",
)  # fmt: skip
_DIGEST = " UNION ALL ".join(
    f"SELECT '{t}' AS t, count(*) AS n,"  # noqa: S608 - the names are the constants above
    f" md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS digest FROM {t} x"
    for t in TABLES
)


async def digest(pool: asyncpg.Pool) -> dict[str, tuple[int, str]]:
    """Each table's row count and a hash of all its rows, in one round trip."""
    return {r["t"]: (r["n"], r["digest"]) for r in await pool.fetch(_DIGEST)}


def changed(
    before: Mapping[str, tuple[int, str]], after: Mapping[str, tuple[int, str]]
) -> list[str]:
    return [t for t in TABLES if before[t] != after[t]]


# The documented errors: docs/reference/http-api.md's tables of `| status | `code` | ...`.
_ERROR_ROW = re.compile(r"^\|\s*(\d{3}|other)\s*\|\s*((?:`[a-z_]+`(?:,\s*)?)+)\s*\|", re.M)


def documented_errors() -> dict[str, set[int | None]]:
    """Each documented error code and the statuses it comes with (None: any error status)."""
    text = (ROOT / "docs" / "reference" / "http-api.md").read_text()
    codes: dict[str, set[int | None]] = {}
    for status, cell in _ERROR_ROW.findall(text):
        for code in re.findall(r"`([a-z_]+)`", cell):
            codes.setdefault(code, set()).add(None if status == "other" else int(status))
    return codes


DOCUMENTED = documented_errors()


async def check_answer(response: aiohttp.ClientResponse, what: str) -> dict[str, Any] | None:
    """No 5xx; an error has the documented shape and a documented (status, code). Returns
    the error object, or None for a success."""
    status = response.status
    if status < 400:
        return None  # not read: it may be an event stream that never ends
    text = await response.text(errors="replace")
    assert status < 500, f"{what}: {status} {text[:500]}"
    if response.method == "HEAD":
        return {"code": None}
    if response.url.path.startswith("/s/") and response.content_type == "text/html":
        # The survey's page is the same page whatever the link's state; its status says it.
        assert status in (404, 409, 410, 429), f"{what}: {status}"
        return {"code": None}
    assert response.content_type == "application/json", f"{what}: {status} {text[:300]!r}"
    body = await response.json()
    assert set(body) == {"error"}, f"{what}: {body}"
    error: dict[str, Any] = body["error"]
    assert {"code", "message"} <= set(error) <= {"code", "message", "details"}, f"{what}: {body}"
    assert isinstance(error["message"], str), f"{what}: {body}"
    assert error["message"], f"{what}: {body}"
    assert isinstance(error.get("details", []), list), f"{what}: {body}"
    statuses = DOCUMENTED.get(error["code"])
    assert statuses is not None, f"{what}: undocumented code {error['code']!r}"
    assert status in statuses or None in statuses, f"{what}: {status} {error['code']} {statuses}"
    return error


def raw_url(client: Client, path: str, query: str = "") -> URL:
    """The URL as given, not normalised (`..` stays, `%2F` stays encoded)."""
    return URL.build(
        scheme="http", host=client.host, port=client.port, path=path, query_string=query,
        encoded=True,
    )  # fmt: skip


def segment(value: str) -> str:
    """A value percent-encoded as one path segment (every byte, even '/' and '%'); a lone
    surrogate as the invalid UTF-8 a client could send for it."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def signed(path: str, form: Mapping[str, str]) -> Headers:
    return {
        "X-Twilio-Signature": RequestValidator(TWILIO_TOKEN).compute_signature(
            PUBLIC + path, dict(form)
        )
    }


@dataclasses.dataclass(frozen=True, kw_only=True)
class World:
    client: Client
    pool: asyncpg.Pool
    staff: dict[str, Headers]  # admin, supervisor, agent (karin), frontdesk, jens, disabled
    email: str  # an e-mail contact active with karin, with a mail and its attachment
    message: int  # the client's mail of `email`
    offered: str  # offered to karin
    queued: str
    ticket: str  # a numbered ticket active with karin, called once
    survey: str  # the token of an open survey

    def role(self, name: str) -> Headers:
        return self.staff[name]


def daemon_settings(db_url: str) -> settings.Settings:
    """The shipped configuration with Twilio and e-mail configured (so every path is live),
    the classifier off, and bodies limited to 64 KiB."""
    return settings.load(
        ROOT / "config" / "contactd.toml",
        environ={
            "CONTACTD_DATABASE_URL": db_url,
            "CONTACTD_CLASSIFIER__ENABLED": "false",
            "CONTACTD_TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "CONTACTD_PUBLIC_URL": PUBLIC,
            "CONTACTD_EMAIL__ADDRESS": AGENCY,
            # Never reached: this instance does not lead, so its outbox does not send.
            "CONTACTD_EMAIL__SMTP": '{ host = "127.0.0.1", port = 9, starttls = false }',
        },
    ).with_overrides(max_body_bytes=MAX_BODY)


class _Server(TestServer):
    """As `contactd run` serves: a handler is not cancelled when its client goes away."""

    async def _make_runner(self, **kwargs: Any) -> BaseRunner:
        return await super()._make_runner(**{**kwargs, "handler_cancellation": False})


@contextlib.asynccontextmanager
async def daemon(
    db_url: str, *, body_seconds: float | None = None, **server: Any
) -> AsyncIterator[Client]:
    """The daemon app on a real port, as a follower. `server` goes to aiohttp's server."""
    lock = await asyncpg.connect(db_url)
    try:
        await lock.execute("SELECT pg_advisory_lock($1)", LEADER_LOCK)
        # WORKDAY, standing still: the line and the kiosk are open.
        app = create_app(daemon_settings(db_url), clock=FixedClock(WORKDAY))
        if body_seconds is not None:
            app[http_errors.BODY_SECONDS] = body_seconds
        test_server = _Server(app)
        await test_server.start_server(**server)  # (TestServer(app, **server) drops them)
        async with TestClient(test_server) as client:
            # The survey endpoints allow 60 requests a minute from one address; the fuzzing
            # sends more, all from 127.0.0.1.
            client.app[api_csat.SURVEYS].limiter = Limiter(10**9, 60)
            # Likewise the unknown tokens it sends would soon be made to wait.
            client.app[auth.SIGN_IN].failures = Limiter(10**9, 300)
            yield client
    finally:
        await lock.close()


def client_mail() -> bytes:
    message = EmailMessage()
    message["From"] = "Anna Jensen <anna@example.dk>"
    message["To"] = AGENCY
    message["Subject"] = "Visum til min søster"
    message["Message-ID"] = "<anna-1@example.dk>"
    message.set_content("Hej, hvad skal jeg sende?")
    message.add_attachment(
        b"%PDF-1.4 pas", maintype="application", subtype="pdf", filename="pas.pdf"
    )
    return message.as_bytes()


async def build_world(client: Client) -> World:
    pool: asyncpg.Pool = client.app[POOL]
    now = client.app[CLOCK].now()
    staff = {
        "admin": await token_for(pool, "ada", Role.ADMIN),
        "supervisor": await token_for(pool, "sofie", Role.SUPERVISOR),
        "agent": await token_for(pool, "karin", Role.AGENT),
        "frontdesk": await token_for(pool, "frida", Role.FRONTDESK),
        "jens": await token_for(pool, "jens", Role.AGENT),
        "disabled": await token_for(pool, "olaf", Role.ADMIN),
    }
    await pool.execute("UPDATE staff SET disabled_at = $1 WHERE login = 'olaf'", now)
    profile = {"skills": {"family": 3, "visa": 3}, "languages": ["da", "en"], "counter": "3"}
    for login in ("karin", "frida", "jens"):
        put = await client.put(f"/api/agents/{login}", json=profile, headers=staff["supervisor"])
        assert put.status == 200, await put.text()
    karin = await pool.fetchval("SELECT id FROM staff WHERE login = 'karin'")

    async def held(reference: str, *, accept: bool = True) -> None:
        contact = await store.get_by_reference(pool, reference)
        await store.transition(
            pool,
            contact.id,
            Action.OFFER,
            now=now,
            actor="router",
            agent_id=karin,
            recorder=NOT_RECORDED,
        )
        if accept:
            await store.transition(
                pool,
                contact.id,
                Action.ACCEPT,
                now=now,
                actor="t",
                holder=karin,
                recorder=NOT_RECORDED,
            )

    raw = client_mail()
    inbox = Inbox(
        pool,
        client.app[INTAKE],
        client.app[SETTINGS].email,
        timezone=client.app[SETTINGS].timezone,
        case_types=client.app[SETTINGS].case_types,
        wording=client.app[SETTINGS].wording,
        clock=client.app[CLOCK].now,
        recorder=NOT_RECORDED,
    )
    received = await inbox.receive(
        IncomingMail(
            mailbox="kontakt",
            key="<anna-1@example.dk>",
            raw=raw,
            mail=parse(raw),
            size=len(raw),
            complete=True,
        )
    )
    email = received.reference
    await held(email)
    message = await pool.fetchval("SELECT id FROM messages WHERE direction = 'in'")

    async def new(**body: Any) -> str:
        made = await client.post("/api/contacts", json=body, headers=staff["supervisor"])
        assert made.status == 201, await made.text()
        return str((await made.json())["reference"])

    offered = await new(channel="email", case_type="visa", client_address="b@example.dk")
    await held(offered, accept=False)
    queued = await new(channel="call", case_type="family")
    issued = await client.post(
        "/api/tickets", json={"case_type": "family"}, headers=staff["frontdesk"]
    )
    assert issued.status == 201, await issued.text()
    ticket = str((await issued.json())["reference"])
    await held(ticket)
    ticket_id = (await store.get_by_reference(pool, ticket)).id
    async with pool.acquire() as conn:
        await tickets.call(conn, ticket_id, "3", now=now)

    done = await new(channel="call", case_type="family", client_address="+4520123456")
    done_id = (await store.get_by_reference(pool, done)).id
    await pool.execute(
        "UPDATE contacts SET state = 'done', closed_at = $2 WHERE id = $1", done_id, now
    )
    expires = now + timedelta(days=31)
    await pool.execute(
        "INSERT INTO csat (contact_id, queue, channel, via, asked_at, expires_at) "
        "VALUES ($1, 'family', 'call', 'sms', $2, $3)",
        done_id,
        now,
        expires,
    )
    survey = surveys.sign(await surveys.signing_key(pool, now=now), done_id, expires)
    return World(
        client=client, pool=pool, staff=staff, email=email, message=message, offered=offered,
        queued=queued, ticket=ticket, survey=survey,
    )  # fmt: skip


@contextlib.asynccontextmanager
async def running(db_url: str) -> AsyncIterator[World]:
    async with daemon(db_url) as client:
        yield await build_world(client)
