"""Hostile HTTP, below the JSON: bodies over the limit, clients that send slowly, bytes that
are not UTF-8 in a header, lines too long, and CR LF in values that end up in headers."""

from __future__ import annotations

import asyncio
import contextlib
import email.policy
import logging
import re
from collections.abc import AsyncIterator
from email import message_from_bytes

import pytest

from channels.email import smtp
from tests.integration import hostile
from tests.integration.hostile import MAX_BODY, World


@pytest.fixture
async def world(db_url: str) -> AsyncIterator[World]:
    async with hostile.running(db_url) as w:
        yield w


def _who(path: str) -> str | None:
    """A role that passes the route's sign-in."""
    if path.startswith("/api/tickets"):
        return "frontdesk"
    if path.startswith("/api/desk"):
        return "agent"
    if path.startswith(
        (
            "/api/staff",
            "/api/agents",
            "/api/contacts",
            "/api/session/",
            "/api/calendars",
            "/api/whatif",
        )
    ):
        return "admin"
    return None


# The routes that take no body: an oversized one is not read, so they answer as usual.
NO_BODY = re.compile(r"/(accept|decline|recall|no-show|disable|consult/complete|consult/cancel)$")


async def test_a_body_over_the_limit_is_refused_before_it_is_parsed(world: World) -> None:
    too_big = b'{"text": "' + b"x" * MAX_BODY + b'"}'
    routes = sorted(
        {
            (r.method, r.resource.canonical)
            for r in world.client.app.router.routes()
            if r.method in ("POST", "PUT") and r.resource is not None
        }
    )
    for method, template in routes:
        path = (
            template.replace("{reference}", world.email).replace("{login}", "jens")
            .replace("{token}", world.survey).replace("{name}", "service_centre")
        )  # fmt: skip
        # Twilio posts forms; anything else is not read as one (and is then unsigned).
        form = template.startswith("/twilio/")
        headers = {
            "Content-Type": "application/x-www-form-urlencoded" if form else "application/json"
        }
        if who := _who(template):
            headers |= world.role(who)
        for chunked in (False, True):  # with a Content-Length, and without one
            body: bytes | AsyncIterator[bytes] = too_big if not chunked else _chunks(too_big)
            before = await hostile.digest(world.pool)
            async with world.client.session.request(
                method, world.client.make_url(path), data=body, headers=headers
            ) as response:
                error = await hostile.check_answer(response, f"{method} {path}")
            if error is not None:
                assert hostile.changed(before, await hostile.digest(world.pool)) == [], path
            if not NO_BODY.search(template):
                assert error is not None, path
                assert error["code"] == "body_too_large", (path, error)
        # Sign-in comes first: a stranger's big body is a 401, not a 413.
        if _who(template):
            async with world.client.session.request(
                method, world.client.make_url(path), data=too_big
            ) as response:
                assert response.status == 401, path


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 16 * 1024):
        yield data[start : start + 16 * 1024]


@contextlib.asynccontextmanager
async def _connection(
    world: World,
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    reader, writer = await asyncio.open_connection(world.client.host, world.client.port)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _raw(world: World, request: bytes) -> bytes:
    """Send bytes as they are; the whole answer (the request says Connection: close)."""
    async with _connection(world) as (reader, writer):
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(10):
            return await reader.read()


async def test_a_token_that_is_not_utf8_is_refused_as_unknown(world: World) -> None:
    for token in (b"cdt_\xff\xfe", b"cdt_\xc3\x28" + b"x" * 40, b"\xed\xa0\x80"):
        answer = await _raw(
            world,
            b"GET /api/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token
            + b"\r\nConnection: close\r\n\r\n",
        )  # fmt: skip
        assert answer.startswith(b"HTTP/1.1 401 "), answer[:300]
        assert b'"unauthorized"' in answer


async def test_lines_too_long_or_not_http_get_a_400_and_store_nothing(world: World) -> None:
    """aiohttp refuses these before the application sees them, with a plain-text 400."""
    before = await hostile.digest(world.pool)
    for request in (
        b"GET /api/contacts/" + b"A" * 9000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\nX-Long: "
        + b"x" * 9000
        + b"\r\nConnection: close\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40 + b"\r\n\r\n",  # TLS hello
        b"POST /api/contacts HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n"
        b"Connection: close\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\nConnection: close\r\n\r\n",
    ):
        answer = await _raw(world, request)
        assert re.match(rb"HTTP/1\.[01] 400 ", answer), answer[:200]
    assert hostile.changed(before, await hostile.digest(world.pool)) == []


async def _answered_meanwhile(world: World) -> None:
    """Another client is served while the slow one dawdles (a generous bound, not a speed)."""
    async with asyncio.timeout(10):
        response = await world.client.get("/health")
        assert response.status == 200
        response = await world.client.get("/api/me", headers=world.role("agent"))
        assert response.status == 200


async def test_a_slow_client_does_not_hold_up_the_others(world: World) -> None:
    token = world.role("admin")["Authorization"].encode()
    head = (
        b"POST /api/contacts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\nAuthorization: " + token + b"\r\n\r\n"
    )
    before = await hostile.digest(world.pool)
    async with _connection(world) as (_, slow_headers), _connection(world) as (_, slow_body):
        for byte in head[:40]:  # headers, a byte at a time
            slow_headers.write(bytes([byte]))
            await slow_headers.drain()
            await asyncio.sleep(0.01)
        slow_body.write(head + b'{"chan')  # all the headers, then 6 bytes of 100
        await slow_body.drain()
        await _answered_meanwhile(world)
    assert hostile.changed(before, await hostile.digest(world.pool)) == []  # half a body


async def test_a_client_that_never_finishes_is_cut_off(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A body still arriving `body_seconds` after its headers: the connection is closed and
    nothing is stored. Headers that never end: aiohttp's keep-alive timer, which runs from
    the connection's start, closes it (3630 s by default; 1 s here)."""
    async with hostile.daemon(db_url, body_seconds=0.5, keepalive_timeout=1) as client:
        world = await hostile.build_world(client)
        before = await hostile.digest(world.pool)
        token = world.role("admin")["Authorization"].encode()
        async with (
            _connection(world) as (body_reader, body_writer),
            _connection(world) as (head_reader, head_writer),
        ):
            body_writer.write(
                b"POST /api/contacts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100\r\nAuthorization: " + token + b'\r\n\r\n{"channel": '
            )
            head_writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            await asyncio.gather(body_writer.drain(), head_writer.drain())
            async with asyncio.timeout(10):
                assert await body_reader.read() == b""  # closed, unanswered
                assert await head_reader.read() == b""
            await _answered_meanwhile(world)
        assert hostile.changed(before, await hostile.digest(world.pool)) == []
    # Cutting a client off is no server error.
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.records


# CR LF in values that end up in headers.


async def test_a_reference_with_cr_lf_does_not_reach_the_download_header(world: World) -> None:
    for suffix in ("%0D%0ASet-Cookie:%20a=1", "%0D%0A", "%0A%0D", "%22%3B%20%3D%22%5C"):
        # Not a letter or digit, so the reference still names the contact.
        path = f"/api/desk/contacts/{world.email}{suffix}/messages/{world.message}"
        for tail in ("/raw", "/attachments/0"):
            async with world.client.session.get(
                hostile.raw_url(world.client, path + tail), headers=world.role("agent")
            ) as response:
                await response.read()
            if "Set-Cookie" in suffix:  # letters: not the reference any more
                assert response.status == 404, path
                continue
            assert response.status == 200, (path, response.status)
            disposition = response.headers["Content-Disposition"]
            assert "\r" not in disposition
            assert "\n" not in disposition
            assert "Set-Cookie" not in response.headers
            if tail == "/raw":
                assert f'filename="{world.email}-{world.message}.eml"' in disposition


async def test_location_and_request_id_headers_carry_no_input(world: World) -> None:
    response = await world.client.post(
        "/api/contacts",
        json={"channel": "email", "external_id": "x\r\nSet-Cookie: a=1", "subject": "\r\n\r\n"},
        headers={**world.role("agent"), "X-Request-Id": "a b"},
    )
    assert response.status == 201
    reference = (await response.json())["reference"]
    assert response.headers["Location"] == f"/api/contacts/{reference}"
    assert "Set-Cookie" not in response.headers
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-Id"])  # not "a b"


async def test_cr_lf_in_a_subject_or_address_never_becomes_a_mail_header(world: World) -> None:
    """The answer's subject comes from the client's (or staff's) subject, its To from the
    contact's address: the one is folded onto one line, the other refused when staff type it
    (and by the mail library, should one come another way)."""
    agent = world.role("agent")
    karin = await world.pool.fetchval("SELECT id FROM staff WHERE login = 'karin'")
    for address in ("anna@example.dk", "anna@example.dk\r\nBcc: evil@example.org"):
        made = await world.client.post(
            "/api/contacts",
            json={
                "channel": "email",
                "case_type": "visa",
                "client_address": address,
                "subject": "Hej\r\nBcc: evil@example.org\r\n\r\nbody",
            },
            headers=world.role("supervisor"),
        )
        if "\n" in address:  # refused at the door since issue 17: one address, one line
            refused = await made.json()
            assert (made.status, refused["error"]["code"]) == (422, "bad_client_address")
            continue
        reference = (await made.json())["reference"]
        contact_id = await world.pool.fetchval(
            "SELECT id FROM contacts WHERE reference = $1", reference
        )
        await world.pool.execute(
            "UPDATE contacts SET state = 'active', agent_id = $2 WHERE id = $1", contact_id, karin
        )
        answered = await world.client.post(
            f"/api/desk/contacts/{reference}/answer", json={"text": "Hej"}, headers=agent
        )
        assert answered.status == 200, await answered.text()
        payload = await world.pool.fetchval(
            "SELECT payload FROM outbox WHERE contact_id = $1 AND kind = 'email'", contact_id
        )
        assert payload["subject"] == f"Re: Hej Bcc: evil@example.org body [{reference}]"
        try:
            sent = smtp.message_of(payload).as_bytes()
        except ValueError:
            assert "\n" in address  # refused: never sent
            continue
        parsed = message_from_bytes(sent, policy=email.policy.default)
        assert parsed["Bcc"] is None
        assert parsed["To"] == address
