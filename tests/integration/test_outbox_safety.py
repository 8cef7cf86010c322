"""At most one call per acceptance (issue 17): a webhook of an earlier acceptance changes
nothing; a call whose sender died mid-request is checked with Twilio before it is placed
again; the outbox leases each message as its send starts and leaves no send running when one
fails.

Twilio's REST API here is Stoplight Prism in proxy mode (`prism proxy`), which checks every
request the daemon makes and every answer against Twilio's spec, in front of a small double
of Twilio that keeps state: Prism's own mock cannot list a call it was asked to place, nor
hold an answer back as a Twilio whose answer is lost does (a sender that dies mid-request),
which is what these tests need."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import http.server
import json
import os
import re
import socket
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from twilio.request_validator import RequestValidator

from channels.phone.rest import TwilioRest
from channels.ports import Failure, SendError
from contactd import settings
from contactd.app import create_app
from contactd.clock import Clock, FixedClock
from contactd.http.appkeys import INTAKE, POOL
from contactd.leader import outbox
from contactd.leader.senders import senders
from contactd.metrics import NOT_RECORDED
from contactd.settings import EmailConfig, PhoneConfig
from contactd.store.staff import Role
from routing.contact import Channel, Language, NewContact
from tests import twilio_spec
from tests.conftest import PRISM, ROOT, WORKDAY, _free_port, token_for

ACCOUNT = "AC" + "0123456789abcdef" * 2
TOKEN = "test-auth-token"
PUBLIC = "https://contact.example.dk"
HOTLINE = "+4570201010"
CLIENT = "+4520123456"
KARIN_PHONE = "+4531000001"
JENS_PHONE = "+4531000002"
CALLER_SID = "CA" + "fedcba9876543210" * 2
Client = TestClient[web.Request, web.Application]

_PATH = re.compile(r"^/2010-04-01/Accounts/(AC\w+)/(Calls|Messages)(?:/(CA\w+))?\.json$")
# A conference, by friendly name (participants created) or by sid, and a participant by label.
_CONFERENCE = re.compile(
    r"^/2010-04-01/Accounts/AC\w+/Conferences(?:/([\w-]+)/Participants(?:/([\w-]+))?)?\.json$"
)


class TwilioDouble(http.server.ThreadingHTTPServer):
    """The calls and messages Twilio was asked for, answered in the shapes of the spec's own
    examples. The first request whose key ("Calls", "redirect" or an SMS's body) is in `hold`
    is recorded and then answered only when released: Twilio acted, and its answer is lost
    with the sender that waited for it (later requests of that key are answered at once).
    Under `lost`, a held request is not even recorded: it never reached Twilio."""

    daemon_threads = True

    def __init__(self, spec: Mapping[str, Any]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        paths = spec["paths"]
        calls = paths["/2010-04-01/Accounts/{AccountSid}/Calls.json"]
        messages = paths["/2010-04-01/Accounts/{AccountSid}/Messages.json"]
        self.call_template = _example(calls["post"]["responses"]["201"], "create")
        self.list_template = _example(calls["get"]["responses"]["200"], "readFullPage1")
        self.message_template = _example(messages["post"]["responses"]["201"], "create")
        conferences = paths["/2010-04-01/Accounts/{AccountSid}/Conferences.json"]
        participants = paths[
            "/2010-04-01/Accounts/{AccountSid}/Conferences/{ConferenceSid}/Participants.json"
        ]
        one = paths[
            "/2010-04-01/Accounts/{AccountSid}/Conferences/{ConferenceSid}/Participants/{CallSid}.json"
        ]
        self.conference_list = _example(conferences["get"]["responses"]["200"], "readFull")
        self.participant_template = _example(
            participants["post"]["responses"]["201"], "createWithFriendlyName"
        )
        self.participant_fetched = _example(one["get"]["responses"]["200"], "fetchByLabel")
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.calls: list[dict[str, Any]] = []  # as Twilio lists them, oldest first
            self.redirects: list[tuple[str, str]] = []  # (call sid, TwiML URL)
            self.messages: list[str] = []  # the bodies
            self.hold: set[str] = set()
            self.lost = False
            self.failed_lists = 0  # how many lookups of calls to answer 503 first
            # Conferences: participants dialled in (their form), the conferences that are on
            # (friendly name -> sid; the test starts them, as an answered leg does), who is
            # in each (friendly name -> labels), and every change asked of a participant.
            self.dialled_in: list[dict[str, str]] = []
            self.conferences: dict[str, str] = {}
            self.members: dict[str, set[str]] = {}
            self.changes: list[tuple[str, str, dict[str, str]]] = []  # (room, label, form)
            self.released: dict[str, threading.Event] = {}

    def release(self, key: str) -> None:
        with self.lock:
            self.hold.discard(key)
            self.released.setdefault(key, threading.Event()).set()

    def release_all(self) -> None:
        for key in list(self.released) + list(self.hold):
            self.release(key)

    def start(self, room: str, *labels: str) -> None:
        """The conference is on, with these participants in it (answered, joined)."""
        with self.lock:
            self.conferences.setdefault(room, f"CF{len(self.conferences) + 1:032x}")
            self.members.setdefault(room, set()).update(labels)

    def room_of(self, sid: str) -> str | None:
        return next((room for room, s in self.conferences.items() if s == sid), None)

    def wait_if_held(self, key: str, record: Callable[[], None]) -> None:
        with self.lock:
            held = key in self.hold
            self.hold.discard(key)
            lost = held and self.lost
            event = self.released.setdefault(key, threading.Event()) if held else None
        if not lost:
            with self.lock:
                record()
        if event is not None:
            event.wait(timeout=30)


def _example(response: Mapping[str, Any], name: str) -> dict[str, Any]:
    value: dict[str, Any] = response["content"]["application/json"]["examples"][name]["value"]
    return copy.deepcopy(value)


def _sid(n: int) -> str:
    return f"CA{n + 1:032x}"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: TwilioDouble

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet

    def _answer(self, status: int, body: Mapping[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the daemon may have gone meanwhile
            self.wfile.write(data)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if _CONFERENCE.match(parts.path):
            self._conference_get(parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()})
            return
        match = _PATH.match(parts.path)
        assert match is not None, self.path
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        double = self.server
        with double.lock:
            failing = double.failed_lists > 0
            double.failed_lists -= failing
        if failing:
            self._answer(503, {"code": 20500, "message": "Service Unavailable", "status": 503})
            return
        with double.lock:
            found = [
                c for c in reversed(double.calls)  # newest first, as Twilio lists them
                if all(c.get(field) == query[name] for name, field in
                       (("To", "to"), ("From", "from"), ("ParentCallSid", "parent_call_sid"))
                       if name in query)
            ][: int(query.get("PageSize", 50))]  # fmt: skip
        body = copy.deepcopy(double.list_template)
        uri = f"https://api.twilio.com{self.path}"
        body.update(calls=[self._call(c) for c in found], page=0, page_size=len(found),
                    start=0, end=max(len(found) - 1, 0), uri=uri, first_page_uri=uri,
                    next_page_uri=None, previous_page_uri=None)  # fmt: skip
        self._answer(200, body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if _CONFERENCE.match(self.path):
            self._conference_post(self.path, form)
            return
        match = _PATH.match(self.path)
        assert match is not None, self.path
        double = self.server
        kind, sid = match.group(2), match.group(3)
        if kind == "Messages":
            double.wait_if_held(form["Body"], lambda: double.messages.append(form["Body"]))
            body = copy.deepcopy(double.message_template)
            body.update(sid="SM" + "b" * 32, to=form["To"], body=form["Body"], status="queued")
            self._answer(201, body)
        elif sid is None:  # a call placed
            call = {"sid": _sid(len(double.calls)), "to": form["To"], "from": form["From"],
                    "status": "queued", "parent_call_sid": None, "direction": "outbound-api",
                    "url": form["Url"], "status_callback": form["StatusCallback"]}  # fmt: skip
            double.wait_if_held("Calls", lambda: double.calls.append(call))
            self._answer(201, self._call(call))
        else:  # a live call redirected to new TwiML
            double.wait_if_held("redirect", lambda: double.redirects.append((sid, form["Url"])))
            self._answer(200, self._call({"sid": sid, "to": HOTLINE, "from": CLIENT,
                                          "status": "in-progress", "parent_call_sid": None,
                                          "direction": "inbound"}))  # fmt: skip

    def do_DELETE(self) -> None:
        match = _CONFERENCE.match(self.path)
        assert match is not None, self.path
        assert match.group(2), self.path
        double = self.server
        with double.lock:
            room = double.room_of(match.group(1)) or ""
            there = match.group(2) in double.members.get(room, set())
            if there:
                double.members[room].discard(match.group(2))
                double.changes.append((room, match.group(2), {"removed": "true"}))
        if not there:
            self._answer(404, {"code": 20404, "message": "Not Found", "status": 404})
            return
        self.send_response(204)
        self.end_headers()

    def _conference_get(self, path: str, query: Mapping[str, str]) -> None:
        match = _CONFERENCE.match(path)
        assert match is not None
        double = self.server
        if match.group(1) is None:  # conferences by friendly name
            with double.lock:
                sid = double.conferences.get(query.get("FriendlyName", ""))
            body = copy.deepcopy(double.conference_list)
            found = body["conferences"][:1] if sid else []
            for conference in found:
                conference.update(sid=sid, friendly_name=query["FriendlyName"],
                                  status="in-progress", account_sid=ACCOUNT)  # fmt: skip
                conference.pop("reason_conference_ended", None)  # null in the example
            uri = f"https://api.twilio.com{self.path}"
            body.update(conferences=found, start=0, end=max(len(found) - 1, 0), page=0,
                        page_size=1, uri=uri, first_page_uri=uri, next_page_uri=None,
                        previous_page_uri=None)  # fmt: skip
            self._answer(200, body)
            return
        with double.lock:
            room = double.room_of(match.group(1)) or ""
            there = match.group(2) in double.members.get(room, set())
        if not there:
            self._answer(404, {"code": 20404, "message": "Not Found", "status": 404})
            return
        body = copy.deepcopy(double.participant_fetched)
        body.update(conference_sid=match.group(1), label=match.group(2), account_sid=ACCOUNT,
                    call_sid=CALLER_SID if match.group(2) == "caller" else _sid(0))  # fmt: skip
        self._answer(200, body)

    def _conference_post(self, path: str, form: dict[str, str]) -> None:
        match = _CONFERENCE.match(path)
        assert match is not None, path
        assert match.group(1), path
        double = self.server
        if match.group(2) is None:  # a participant dialled in: a call placed
            call = {
                "sid": _sid(len(double.calls)),
                "to": form["To"],
                "from": form["From"],
                "status": "queued",
                "parent_call_sid": None,
                "direction": "outbound-api",
            }
            entry = {**form, "room": match.group(1), "CallSid": str(call["sid"])}

            def record() -> None:
                double.calls.append(call)
                double.dialled_in.append(entry)

            double.wait_if_held("Participants", record)
            body = copy.deepcopy(double.participant_template)
            body.update(call_sid=call["sid"], label=form.get("Label"), account_sid=ACCOUNT,
                        status="queued")  # fmt: skip
            self._answer(201, body)
            return
        with double.lock:
            room = double.room_of(match.group(1)) or ""
            there = match.group(2) in double.members.get(room, set())
            if there:
                double.changes.append((room, match.group(2), form))
        if not there:
            self._answer(404, {"code": 20404, "message": "Not Found", "status": 404})
            return
        body = copy.deepcopy(double.participant_fetched)
        body.update(conference_sid=match.group(1), label=match.group(2), account_sid=ACCOUNT)
        self._answer(200, body)

    def _call(self, call: Mapping[str, Any]) -> dict[str, Any]:
        body = copy.deepcopy(self.server.call_template)
        body.update({k: call[k] for k in ("sid", "to", "from", "status", "parent_call_sid",
                                          "direction")})  # fmt: skip
        body.update(account_sid=ACCOUNT, uri=None, subresource_uris=None)
        return body


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TwilioDouble, str]]:
    """The double, and Prism in proxy mode in front of it checking both ways against the
    spec (--errors: a request or an answer the spec does not allow fails)."""
    if not PRISM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Prism is missing; scripts/bootstrap --dev installs it")
        pytest.skip("Prism is not installed (scripts/bootstrap --dev)")
    spec_path = twilio_spec.for_prism(twilio_spec.for_tests(), tmp_path_factory.mktemp("twilio"))
    double = TwilioDouble(json.loads(spec_path.read_text()))
    thread = threading.Thread(target=double.serve_forever, name="twilio-double", daemon=True)
    thread.start()
    port = _free_port()
    upstream = f"http://127.0.0.1:{double.server_address[1]}"
    process = subprocess.Popen(
        [str(PRISM), "proxy", str(spec_path), upstream, "--host", "127.0.0.1",
         "--port", str(port), "--errors", "-v", "error"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_for_port(port, process)
        yield double, f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        double.release_all()
        double.shutdown()
        double.server_close()
        thread.join(timeout=5)


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("Prism did not start")
            time.sleep(0.05)


@pytest.fixture
def twilio(proxied: tuple[TwilioDouble, str]) -> Iterator[TwilioDouble]:
    double, _ = proxied
    double.reset()
    try:
        yield double
    finally:
        double.release_all()


def _config(db_url: str, api_url: str, **env: str) -> settings.Settings:
    return settings.load(
        ROOT / "config" / "contactd.toml",
        environ={
            "CONTACTD_DATABASE_URL": db_url,
            "CONTACTD_CLASSIFIER__ENABLED": "false",
            "CONTACTD_TWILIO_AUTH_TOKEN": TOKEN,
            "CONTACTD_PUBLIC_URL": PUBLIC,
            "CONTACTD_PHONE__ACCOUNT_SID": ACCOUNT,
            "CONTACTD_PHONE__NUMBER": HOTLINE,
            "CONTACTD_PHONE__API_URL": api_url,
            "CONTACTD_OUTBOX__POLL_SECONDS": "0.1",
            # A daemon stopped mid-request stops at once: as if it died.
            "CONTACTD_DAEMON__SHUTDOWN_GRACE_SECONDS": "0.2",
            **env,
        },
    )


@contextlib.asynccontextmanager
async def _daemon(config: settings.Settings, clock: Clock) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(config, clock=clock))) as client:
        yield client


async def _agent(client: Client, login: str, phone: str) -> dict[str, str]:
    pool: asyncpg.Pool = client.app[POOL]
    supervisor = await token_for(pool, f"{login}-boss", Role.SUPERVISOR)
    agent = await token_for(pool, login, Role.AGENT)
    profile = {"skills": {"family": 3}, "languages": ["da"], "phone": phone}
    assert (await client.put(f"/api/agents/{login}", json=profile, headers=supervisor)).ok
    await _available(client, agent)
    return agent


async def _available(client: Client, agent: dict[str, str]) -> None:
    response = await client.post("/api/desk/state", json={"state": "available"}, headers=agent)
    assert response.ok, await response.text()


async def _desk(client: Client, agent: dict[str, str]) -> list[dict[str, Any]]:
    desk = await (await client.get("/api/desk", headers=agent)).json()
    contacts: list[dict[str, Any]] = desk["contacts"]
    return contacts


async def _offered(client: Client, agent: dict[str, str], within: float = 10) -> str | None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for contact in await _desk(client, agent):
            if contact["state"] == "offered":
                return str(contact["reference"])
        await asyncio.sleep(0.05)
    return None


async def _accept(client: Client, agent: dict[str, str], reference: str) -> None:
    accepted = await client.post(f"/api/desk/contacts/{reference}/accept", headers=agent)
    assert accepted.status == 200, await accepted.text()


async def _until(check: Callable[[], Any], what: str, within: float = 10) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"never: {what}"
        await asyncio.sleep(0.05)


async def _signed(client: Client, url: str, form: dict[str, str]) -> ET.Element:
    """Twilio's request to a URL it was given: signed with the token."""
    signature = RequestValidator(TOKEN).compute_signature(url, form)
    path = url.removeprefix(PUBLIC)
    response = await client.post(path, data=form, headers={"X-Twilio-Signature": signature})
    assert response.status == 200, await response.text()
    return ET.fromstring(await response.text())  # noqa: S314 - our own daemon's TwiML


async def _callback(client: Client) -> None:
    await client.app[INTAKE].submit(
        NewContact(
            channel=Channel.CALLBACK,
            language=Language.DA,
            case_type="family",
            client_address=CLIENT,
            external_id="booking:safety-1",
        ),
        actor="test",
    )


async def _contact(pool: asyncpg.Pool) -> asyncpg.Record:
    row = await pool.fetchrow(
        "SELECT c.state, c.attempts, s.login AS agent FROM contacts c"
        " LEFT JOIN staff s ON s.id = c.agent_id ORDER BY c.id LIMIT 1"
    )
    assert row is not None
    return row


# --- a webhook of an earlier acceptance ------------------------------------------------------


async def test_a_late_webhook_of_an_earlier_acceptance_changes_nothing(
    db_url: str, twilio: TwilioDouble, proxied: tuple[TwilioDouble, str]
) -> None:
    """Karin's phone did not answer the first call: the callback went back to the queue,
    the try not counted against the client, and Jens took it. A late (or re-delivered)
    webhook of Karin's call then must not end Jens's call nor ring the client a second time:
    the attempt number is the same for both acceptances, the acceptance is not."""
    clock = FixedClock(WORKDAY)
    async with _daemon(_config(db_url, proxied[1]), clock) as client:
        pool: asyncpg.Pool = client.app[POOL]
        karin = await _agent(client, "karin", KARIN_PHONE)
        await _callback(client)
        reference = await _offered(client, karin)
        assert reference is not None
        await _accept(client, karin, reference)
        await _until(lambda: len(twilio.calls) == 1, "Karin's phone is called")
        first = dict(twilio.calls[0])
        assert first["to"] == KARIN_PHONE
        no_answer = {"CallSid": first["sid"], "CallStatus": "no-answer"}
        await _signed(client, first["status_callback"], no_answer)
        assert (await _contact(pool))["state"] == "queued"

        clock.advance(minutes=1)
        jens = await _agent(client, "jens", JENS_PHONE)
        assert await _offered(client, jens) == reference
        await _accept(client, jens, reference)
        await _until(lambda: len(twilio.calls) == 2, "Jens's phone is called")
        assert twilio.calls[1]["to"] == JENS_PHONE
        taken = await _contact(pool)

        # Twilio delivers Karin's call's status again, and fetches its TwiML late.
        await _signed(client, first["status_callback"], no_answer)
        twiml = await _signed(client, first["url"], {"CallSid": first["sid"]})
        after = await _contact(pool)
    assert (taken["state"], taken["agent"]) == ("active", "jens")
    assert (after["state"], after["agent"], after["attempts"]) == ("active", "jens", 1)
    assert twiml.find("Dial") is None  # the client is not rung for Karin's call
    assert twiml.find("Hangup") is not None
    assert len(twilio.calls) == 2


# --- a sender that died mid-request ----------------------------------------------------------


async def _died_mid_dial(
    db_url: str, api_url: str, twilio: TwilioDouble, clock: FixedClock, *, reached: bool
) -> settings.Settings:
    """Karin accepts a callback; the daemon asks Twilio to place the call and dies before
    the answer comes (`reached`: Twilio got the request and placed the call). Its lease is
    left to run out."""
    config = _config(db_url, api_url)
    twilio.hold.add("Calls")
    twilio.lost = not reached
    async with _daemon(config, clock) as first:
        karin = await _agent(first, "karin", KARIN_PHONE)
        await _callback(first)
        reference = await _offered(first, karin)
        assert reference is not None
        await _accept(first, karin, reference)
        pool: asyncpg.Pool = first.app[POOL]
        for _ in range(200):  # the request is on its way
            if await pool.fetchval("SELECT attempts FROM outbox WHERE kind = 'dial'") == 1:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # and at Twilio
    twilio.release_all()
    clock.advance(seconds=config.outbox.lease_seconds + 1)
    return config


async def _ended(pool: asyncpg.Pool, kind: str) -> asyncpg.Record:
    """The first message of `kind`, once sent or failed."""
    for _ in range(200):
        row = await pool.fetchrow("SELECT * FROM outbox WHERE kind = $1 ORDER BY id LIMIT 1", kind)
        if row is not None and (row["sent_at"] is not None or row["failed_at"] is not None):
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"the {kind} message never ended: {row}")


async def _after_restart(client: Client, jens: dict[str, str]) -> asyncpg.Record:
    """The dial message once the new leader has dealt with it; whatever is offered to Jens
    meanwhile, he takes (as a caseworker would)."""
    row = await _ended(client.app[POOL], "dial")
    reference = await _offered(client, jens, within=3)
    if reference is not None:  # back in the queue: Jens accepts, and a call is placed
        await _accept(client, jens, reference)
        await asyncio.sleep(1)
    return row


async def test_a_dial_twilio_placed_before_its_sender_died_is_not_placed_again(
    db_url: str, twilio: TwilioDouble, proxied: tuple[TwilioDouble, str]
) -> None:
    clock = FixedClock(WORKDAY)
    config = await _died_mid_dial(db_url, proxied[1], twilio, clock, reached=True)
    assert [c["to"] for c in twilio.calls] == [KARIN_PHONE]  # Karin's phone rings
    async with _daemon(config, clock) as second:
        jens = await _agent(second, "jens", JENS_PHONE)
        dial = await _after_restart(second, jens)
        contact = await _contact(second.app[POOL])
    assert [c["to"] for c in twilio.calls] == [KARIN_PHONE]  # and no phone rings again
    assert dial["sent_at"] is not None
    assert dial["payload"]["provider_id"] == twilio.calls[0]["sid"]
    assert (contact["state"], contact["agent"]) == ("active", "karin")


async def test_a_dial_that_never_reached_twilio_is_placed_when_its_lease_runs_out(
    db_url: str, twilio: TwilioDouble, proxied: tuple[TwilioDouble, str]
) -> None:
    clock = FixedClock(WORKDAY)
    config = await _died_mid_dial(db_url, proxied[1], twilio, clock, reached=False)
    assert twilio.calls == []
    async with _daemon(config, clock) as second:
        jens = await _agent(second, "jens", JENS_PHONE)
        dial = await _after_restart(second, jens)
        contact = await _contact(second.app[POOL])
    assert [c["to"] for c in twilio.calls] == [KARIN_PHONE]  # placed now, once
    assert (dial["attempts"], dial["failed_at"]) == (2, None)
    assert dial["payload"]["provider_id"] == twilio.calls[0]["sid"]
    assert (contact["state"], contact["agent"]) == ("active", "karin")


async def test_twilio_unreachable_for_the_check_is_asked_again_and_nothing_placed_meanwhile(
    db_url: str, twilio: TwilioDouble, proxied: tuple[TwilioDouble, str]
) -> None:
    clock = FixedClock(WORKDAY)
    config = await _died_mid_dial(db_url, proxied[1], twilio, clock, reached=True)
    twilio.failed_lists = 1
    async with _daemon(config, clock) as second:
        pool: asyncpg.Pool = second.app[POOL]
        await _until_row(pool, lambda r: r["last_error"] is not None)
        waiting = await pool.fetchrow("SELECT * FROM outbox WHERE kind = 'dial'")
        clock.advance(seconds=30)  # past the backoff
        dial = await _ended(pool, "dial")
        contact = await _contact(pool)
    assert waiting is not None
    assert (waiting["sent_at"], waiting["failed_at"]) == (None, None)
    assert waiting["last_error"] == "the outcome of the last try is unknown: Twilio answered 503"
    assert [c["to"] for c in twilio.calls] == [KARIN_PHONE]
    assert dial["payload"]["provider_id"] == twilio.calls[0]["sid"]
    assert (contact["state"], contact["agent"]) == ("active", "karin")


async def _until_row(pool: asyncpg.Pool, check: Callable[[asyncpg.Record], bool]) -> None:
    for _ in range(200):
        row = await pool.fetchrow("SELECT * FROM outbox WHERE kind = 'dial'")
        if row is not None and check(row):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the dial message never got there")


async def test_a_caseworker_dialled_in_before_the_sender_died_is_not_dialled_again(
    db_url: str, twilio: TwilioDouble, proxied: tuple[TwilioDouble, str]
) -> None:
    """Karin takes a waiting call; the daemon asks Twilio to dial her phone into the call's
    conference and dies before the answer. Twilio placed that call and her phone rings: a
    second one would ring it twice, and the call would be given to another agent."""
    clock = FixedClock(WORKDAY)
    config = _config(db_url, proxied[1])
    twilio.hold.add("Participants")
    call = {"CallSid": CALLER_SID, "From": CLIENT, "To": HOTLINE, "CallStatus": "ringing"}
    async with _daemon(config, clock) as first:
        karin = await _agent(first, "karin", KARIN_PHONE)
        await _signed(first, f"{PUBLIC}/twilio/voice", call)
        await _signed(
            first, f"{PUBLIC}/twilio/menu?lang=da&then=queue&tries=0", {**call, "Digits": "1"}
        )
        reference = await _offered(first, karin)
        assert reference is not None
        await _accept(first, karin, reference)
        await _until(lambda: len(twilio.dialled_in) == 1, "Karin's phone is dialled in")
    twilio.release_all()
    clock.advance(seconds=config.outbox.lease_seconds + 1)
    async with _daemon(config, clock) as second:
        pool: asyncpg.Pool = second.app[POOL]
        jens = await _agent(second, "jens", JENS_PHONE)
        connect = await _ended(pool, "connect")
        again = await _offered(second, jens, within=3)
        if again is not None:
            await _accept(second, jens, again)
            await asyncio.sleep(1)
        contact = await _contact(pool)
    assert [d["To"] for d in twilio.dialled_in] == [KARIN_PHONE], "a phone was dialled twice"
    assert connect["sent_at"] is not None
    assert (contact["state"], contact["agent"]) == ("active", "karin")


# --- leases and the batch --------------------------------------------------------------------


def _sms_senders(
    api_url: str,
) -> contextlib.AbstractAsyncContextManager[dict[str, outbox.Sender]]:
    phone = PhoneConfig(account_sid=ACCOUNT, number=HOTLINE, api_url=api_url)
    return senders(phone, EmailConfig(), twilio_auth_token=TOKEN, smtp_password=None,
                   public_url=PUBLIC)  # fmt: skip


async def _sms_rows(pool: asyncpg.Pool, bodies: list[str], now: Any) -> None:
    for body in bodies:
        await pool.execute(
            "INSERT INTO outbox (kind, payload, idempotency_key, created_at, next_attempt_at)"
            " VALUES ('sms', $1, $2, $3, $3)",
            {"to": CLIENT, "body": body},
            f"sms:test:{body}",
            now,
        )


OUTBOX = {"batch": 10, "lease_seconds": 60, "max_attempts": 3, "backoff_seconds": 1,
          "max_backoff_seconds": 10, "concurrency": 1}  # fmt: skip


async def test_a_batch_that_outlasts_the_lease_sends_each_message_once(
    pool: asyncpg.Pool, twilio: TwilioDouble, proxied: tuple[TwilioDouble, str]
) -> None:
    """Twilio takes 40 s to answer each of three SMS, one at a time: the batch lasts two
    minutes, its lease one. Another instance (a new leader while the old one finishes its
    batch) must not send again what the first will still send."""
    clock = FixedClock(WORKDAY)
    await _sms_rows(pool, ["one", "two", "three"], clock())
    twilio.hold |= {"one", "two"}
    async with _sms_senders(proxied[1]) as found:
        first = asyncio.create_task(
            outbox.send_due(pool, found, clock=clock, recorder=NOT_RECORDED, **OUTBOX)
        )
        await _until(lambda: twilio.messages == ["one"], "the first SMS is at Twilio")
        clock.advance(seconds=40)
        twilio.release("one")
        await _until(lambda: twilio.messages == ["one", "two"], "the second SMS is at Twilio")
        clock.advance(seconds=30)  # 70 s after the batch began
        await outbox.send_due(pool, found, clock=clock, recorder=NOT_RECORDED, **OUTBOX)
        twilio.release("two")
        await first
        sent = await pool.fetch("SELECT payload ->> 'body' AS body, sent_at FROM outbox")
    assert sorted(twilio.messages) == ["one", "three", "two"]  # each once
    assert all(r["sent_at"] is not None for r in sent)


async def test_a_send_that_fails_stops_the_others_of_its_batch(
    pool: asyncpg.Pool, twilio: TwilioDouble, proxied: tuple[TwilioDouble, str]
) -> None:
    """The database refuses to record one SMS as sent (a constraint here; a lost connection
    in life): the pass fails, and the SMS still waiting for Twilio's answer is not left
    sending on its own after the loop that started it has stopped (the loop's supervisor
    starts a new one, which would send it alongside)."""
    clock = FixedClock(WORKDAY)
    await _sms_rows(pool, ["refused", "slow"], clock())
    await pool.execute(
        "ALTER TABLE outbox ADD CONSTRAINT test_refused"
        " CHECK (sent_at IS NULL OR idempotency_key <> 'sms:test:refused')"
    )
    twilio.hold.add("slow")
    async with _sms_senders(proxied[1]) as found:
        with pytest.raises(asyncpg.CheckViolationError):
            await outbox.send_due(
                pool, found, clock=clock, recorder=NOT_RECORDED, **(OUTBOX | {"concurrency": 2})
            )
        left = [t.get_name() for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        twilio.release("slow")
        await asyncio.sleep(0.5)
        slow = await pool.fetchrow("SELECT * FROM outbox WHERE idempotency_key = 'sms:test:slow'")
    assert left == []
    assert slow is not None
    assert slow["sent_at"] is None  # to be sent again when its lease runs out


async def test_a_message_withdrawn_while_its_send_is_tried_stays_withdrawn(
    pool: asyncpg.Pool,
) -> None:
    """A ticket cancelled at closing withdraws its SMS while the outbox is trying to send it
    (here: no Twilio, a try that fails): the try's outcome must not put the SMS back in line
    nor hide why it was withdrawn (CI once saw 'no sender' there)."""
    clock = FixedClock(WORKDAY)
    await _sms_rows(pool, ["late"], clock())

    async def withdrawn_meanwhile(payload: Mapping[str, Any], key: str) -> str:
        await pool.execute(
            "UPDATE outbox SET failed_at = $1, last_error = 'withdrawn: the ticket was cancelled'",
            clock(),
        )
        raise SendError(Failure.TRANSIENT, "Twilio answered 503")

    await outbox.send_due(
        pool, {"sms": withdrawn_meanwhile}, clock=clock, recorder=NOT_RECORDED, **OUTBOX
    )
    await outbox.send_due(pool, {}, clock=clock, recorder=NOT_RECORDED, **OUTBOX)  # no sender
    row = await pool.fetchrow("SELECT sent_at, failed_at, last_error FROM outbox")
    assert row is not None
    assert (row["sent_at"], row["last_error"]) == (None, "withdrawn: the ticket was cancelled")
    assert row["failed_at"] is not None


async def test_calls_are_looked_up_as_twilios_spec_requires(prism_url: str) -> None:
    """The lookups of a call whose send was interrupted, against Prism's mock of the spec."""
    rest = TwilioRest(account_sid=ACCOUNT, auth_token=TOKEN, api_url=prism_url, timeout=5)
    try:
        placed = await rest.calls(to=KARIN_PHONE, from_=HOTLINE)
        legs = await rest.calls(parent=CALLER_SID)
        with pytest.raises(SendError) as refused:  # the spec wants a call sid
            await rest.calls(parent="CA-not-a-sid")
    finally:
        await rest.close()
    assert placed  # the spec's example page
    assert all(c.sid.startswith("CA") and c.status for c in placed + legs)
    # Asking again would not help: the outbox ends such a call as unknown at once.
    assert refused.value.failure is Failure.PERMANENT
    assert str(refused.value) == "Twilio refused it: 422 code None"
