"""The demo's stand-ins on localhost: Twilio's REST API, which answers as Twilio does but rings
no phone, and an SMTP sink that drops what it takes."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
from collections import defaultdict
from collections.abc import AsyncIterator

import structlog
from aiohttp import web

log = structlog.get_logger(__name__)


@dataclasses.dataclass
class Outside:
    """What the demo's stand-ins were asked to send."""

    sent: dict[str, int] = dataclasses.field(default_factory=lambda: defaultdict(int))


@contextlib.asynccontextmanager
async def fake_twilio(outside: Outside) -> AsyncIterator[str]:
    """Answers as Twilio's REST API does to what contactd sends: SMS, calls placed for
    callbacks, caseworkers' phones dialled into a call's conference, calls moved. Nothing is
    delivered; the base URL is yielded."""
    counter = iter(range(1, 10**9))

    async def create(request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        outside.sent["sms" if kind == "Messages" else "call"] += 1
        prefix = "SM" if kind == "Messages" else "CA"
        sid = f"{prefix}{next(counter):032x}"
        return web.json_response({"sid": sid, "status": "queued"}, status=201)

    async def update(request: web.Request) -> web.Response:
        outside.sent["put through"] += 1
        return web.json_response({"sid": request.match_info["sid"], "status": "in-progress"})

    async def dial_in(request: web.Request) -> web.Response:
        """A caseworker's phone dialled into a call's conference: it rings for ever (the
        demo's caseworkers answer on their desk; no one picks up a phone)."""
        outside.sent["call"] += 1
        sid = f"CA{next(counter):032x}"
        return web.json_response({"call_sid": sid, "status": "queued"}, status=201)

    app = web.Application()
    app.router.add_post("/2010-04-01/Accounts/{account}/{kind:Messages|Calls}.json", create)
    app.router.add_post("/2010-04-01/Accounts/{account}/Calls/{sid}.json", update)
    app.router.add_post(
        "/2010-04-01/Accounts/{account}/Conferences/{room}/Participants.json", dial_in
    )
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def smtp_sink(outside: Outside) -> AsyncIterator[int]:
    """An SMTP server that accepts every mail and drops it; its port is yielded."""

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 demo.example.org ESMTP contactd demo sink\r\n")
        try:
            while line := await reader.readline():
                verb = line[:4].upper()
                if verb == b"EHLO":
                    writer.write(b"250-demo.example.org\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                elif verb == b"DATA":
                    writer.write(b"354 end with <CRLF>.<CRLF>\r\n")
                    await writer.drain()
                    while await reader.readline() not in (b".\r\n", b""):  # the mail: dropped
                        pass
                    outside.sent["e-mail"] += 1
                    writer.write(b"250 dropped\r\n")
                elif verb == b"QUIT":
                    writer.write(b"221 bye\r\n")
                    await writer.drain()
                    break
                else:  # HELO, MAIL, RCPT, RSET, NOOP
                    writer.write(b"250 ok\r\n")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(session, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


# The demo.


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
