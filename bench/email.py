"""The e-mail channel: messages ingested per second from a Dovecot mailbox, the time from
APPEND to the acknowledgement reaching the SMTP server, and the memory used to read one
30 MB message.

    .venv/bin/python -m bench.email [--messages 10000] [--acks 200] [--rate 5]
                                    [--only ingest|acks|memory] [--classifier off|on|both]

A real Dovecot (Debian's dovecot-imapd, set up as the tests set it up: tests/mailserver.py)
serves one mailbox on a free loopback port, fresh for each part.

1. Ingest: `--messages` inquiries drawn from the classifier's corpus (its e-mails: Danish,
   English and mixed, every case type), each from its own sender with its own Message-ID;
   one in five with an HTML alternative, one in twenty in HTML only, one in twenty with a
   scanned letter attached (20-250 kB). They are written as maildir files straight into
   the mailbox's new/ folder (much faster than 10,000 APPENDs), and Dovecot indexes them
   on a first SELECT (timed apart). Then the daemon's own reader and inbox
   (channels.email.imap.read_new into contactd.services.inbox.Inbox, acknowledgements on) read the
   whole mailbox in one pass into a fresh migrated database on the embedded PostgreSQL
   (its default settings, fsync on). The figure is messages / seconds of that pass.
   Checked after: as many contacts and acknowledgements waiting in the outbox as messages,
   and none unseen. Sending the acknowledgements is not part of it. With the classifier
   on, its model is loaded (trained the first time) before the clock starts.
2. APPEND to acknowledgement: `contactd run` (a fresh data directory) reads the mailbox
   (IDLE; polling only every hour) and sends through an aiosmtpd server in this process.
   After three warm-up messages, `--acks` inquiries are APPENDed one at a time, `--rate` a
   second, each on a session kept logged in; for each, the time from the APPEND's OK to
   its acknowledgement (In-Reply-To: its Message-ID) reaching the SMTP server. It is split
   at the contact's created_at (the daemon's clock, the same clock) into reading (Dovecot's
   IDLE push, fetch, parse, classify) and sending (commit, NOTIFY, outbox claim, SMTP).
   Dovecot's own share is measured alone first: APPEND to the EXISTS it pushes to a plain
   IDLE session on another folder.
3. Memory: a fresh Python process (nothing left over from the other parts) opens the pool,
   reads one small message (so every import and code path is warm), then reads one message
   with a 30 MB attachment (tests.mailserver.big_message: 40 MB as sent) through read_new
   and the Inbox into the database. Its RSS before, and the peak during: the kernel's
   high-water mark (VmHWM, reset just before through /proc/self/clear_refs) and, as a
   cross-check, psutil sampled every 2 ms in a thread. A second such process does the same
   under tracemalloc, for the peak of Python's own allocations (tracemalloc slows it, so
   its RSS is not used).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import email.policy
import gc
import html
import imaplib
import json
import os
import pwd
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import psutil
from aiosmtpd.controller import Controller

from bench.common import Daemon
from bench.intake import psql
from channels.email import imap
from classifier import corpus
from contactd import logs
from contactd.clock import wall_clock
from contactd.metrics import NOT_RECORDED
from contactd.services import mailboxes
from contactd.services.classification import CaseTypeModel, model_path
from contactd.services.inbox import Inbox
from contactd.services.intake import Intake
from contactd.settings import Settings
from contactd.store import database, embedded, migrations
from tests import mailserver

AGENCY = "kontakt@agency.example"
FIRST = [
    "Anna", "Mette", "Søren", "Jens", "Fatima", "Ahmed", "Maria", "Olga", "Priya", "Chen",
    "Lars", "Sofie", "Yonas", "Amira", "Hassan", "Louise", "Marco", "Aisha", "Peter", "Nguyen",
]  # fmt: skip
LAST = [
    "Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Ali", "Rahimi", "Haddad",
    "Kowalski", "Bellini", "Sharma", "Wang", "Madsen", "Bruun", "Mohammed", "Tesfaye",
]  # fmt: skip
DOMAINS = ["gmail.com", "hotmail.com", "outlook.dk", "mail.dk", "yahoo.com", "live.dk", "jubii.dk"]
ASCII = str.maketrans({"ø": "oe", "æ": "ae", "å": "aa", "é": "e"})


# --- the messages -------------------------------------------------------------------------


def _inquiries() -> list[dict[str, str]]:
    """The corpus's e-mails (not its call notes or tickets): subject and text apart."""
    found = []
    for path in sorted(corpus.DATA.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            if item["channel"] == "email":
                found.append(item)
    return found


def _html(text: str) -> str:
    paragraphs = "".join(
        f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in text.split("\n\n")
    )
    style = "font-family: Calibri, sans-serif"
    return f'<html><body><div style="{style}">{paragraphs}</div></body></html>'


class Inquiries:
    """Realistic, varied inquiries; `make(i)` is the i-th, with its Message-ID."""

    def __init__(self, tag: str, seed: int = 6) -> None:
        self.tag = tag
        self.rng = random.Random(seed)
        self.items = _inquiries()
        self.sent = datetime.now(UTC)

    def make(self, i: int) -> tuple[bytes, str]:
        rng = self.rng
        item = self.items[rng.randrange(len(self.items))]
        first, last, domain = rng.choice(FIRST), rng.choice(LAST), rng.choice(DOMAINS)
        local = f"{first}.{last}{i}".lower().translate(ASCII)
        message_id = f"<{self.tag}.{i}.{rng.getrandbits(48):x}@{domain}>"
        message = EmailMessage()
        message["From"] = Address(f"{first} {last}", addr_spec=f"{local}@{domain}")
        message["To"] = AGENCY
        if item["subject"]:
            message["Subject"] = item["subject"]
        message["Date"] = format_datetime(self.sent - timedelta(seconds=rng.randrange(86_400)))
        message["Message-ID"] = message_id
        shape = rng.random()
        if shape < 0.05:  # HTML only: its words are read with BeautifulSoup
            message.set_content(_html(item["text"]), subtype="html")
        else:
            message.set_content(item["text"])
            if shape < 0.25:
                message.add_alternative(_html(item["text"]), subtype="html")
        if rng.random() < 0.05:
            scan = b"\xff\xd8\xff\xe0" + rng.randbytes(rng.randrange(20_000, 250_000))
            message.add_attachment(scan, maintype="image", subtype="jpeg", filename="brev.jpg")
        return message.as_bytes(), message_id


def fill_maildir(server: mailserver.Dovecot, inquiries: Inquiries, n: int) -> int:
    """`n` messages as files in the mailbox's maildir new/ folder, owned as Dovecot keeps
    them (the dovecot user when we are root: tests/mailserver.py _configure). Bytes written."""
    box = server.folder / "mail" / mailserver.USER
    owner = pwd.getpwnam("dovecot") if os.geteuid() == 0 else None
    for folder in (box, box / "cur", box / "new", box / "tmp"):
        folder.mkdir(exist_ok=True)
        if owner is not None:
            os.chown(folder, owner.pw_uid, owner.pw_gid)
    stamp, pid, total = int(time.time()), os.getpid(), 0
    for i in range(n):
        raw, _ = inquiries.make(i)
        path = box / "new" / f"{stamp}.M{i}P{pid}.bench,S={len(raw)}"
        path.write_bytes(raw)
        if owner is not None:
            os.chown(path, owner.pw_uid, owner.pw_gid)
        total += len(raw)
    return total


@contextlib.contextmanager
def _imap_client(port: int) -> Iterator[imaplib.IMAP4]:
    client = imaplib.IMAP4("127.0.0.1", port)
    client.login(mailserver.USER, mailserver.PASSWORD)
    try:
        yield client
    finally:
        client.logout()


def _create_folder(port: int, folder: str) -> None:
    with _imap_client(port) as client:
        client.create(folder)


def _mark_all_unseen(port: int) -> None:
    with _imap_client(port) as client:
        client.select("INBOX")
        client.uid("store", "1:*", "-FLAGS", "(\\Seen)")


# --- databases ----------------------------------------------------------------------------


@contextlib.contextmanager
def embedded_server() -> Iterator[str]:
    """The embedded PostgreSQL the daemon would start, in a temporary data directory."""
    data = Path(tempfile.mkdtemp(prefix="contactd-bench-email-"))
    server = embedded.start(data)
    try:
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)


async def fresh_database(server_url: str, name: str) -> str:
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    url = urlsplit(server_url)._replace(path=f"/{name}").geturl()
    await migrations.migrate_database(url)
    return url


async def _pool(config: Settings, url: str) -> asyncpg.Pool:
    return await database.wait_for_pool(
        url,
        min_size=config.database.pool_min_size,
        max_size=config.database.pool_max_size,
        give_up_after=10,
        statement_timeout=config.database.statement_timeout_seconds,
    )


def _config(db_url: str, port: int, classifier: bool, model: Path) -> Settings:
    """The shipped configuration with this mailbox and acknowledgements on."""
    return mailserver.daemon_config(
        db_url,
        port,
        CONTACTD_EMAIL__ADDRESS=AGENCY,
        CONTACTD_CLASSIFIER__ENABLED=str(classifier).lower(),
        CONTACTD_CLASSIFIER__MODEL=str(model),
    )


def _inbox(pool: asyncpg.Pool, intake: Intake, config: Settings) -> Inbox:
    """The inbox as the daemon builds it (contactd/app.py)."""
    return Inbox(
        pool,
        intake,
        config.email,
        timezone=config.timezone,
        case_types=config.case_types,
        wording=config.wording,
        clock=wall_clock,
        recorder=NOT_RECORDED,
    )


# --- 1. ingest ----------------------------------------------------------------------------


async def ingest_once(
    port: int, db_url: str, classifier: bool, model: Path, n: int
) -> dict[str, Any]:
    config = _config(db_url, port, classifier, model)
    pool = await _pool(config, db_url)
    task = None
    try:
        if classifier:
            case_types = CaseTypeModel(
                config.classifier,
                case_types=config.case_types,
                path=model_path(config),
                recorder=NOT_RECORDED,
            )
            task = asyncio.create_task(case_types.run(), name="classifier")
            await case_types.predict("Visum til min søster")  # waits for the model
            intake = Intake(
                pool, config, clock=wall_clock, classify=case_types.classify, recorder=NOT_RECORDED
            )
        else:
            intake = Intake(pool, config, clock=wall_clock, recorder=NOT_RECORDED)
        inbox = _inbox(pool, intake, config)
        [box] = mailboxes.mailboxes(config.email, config.mailbox_passwords)
        started = time.perf_counter()
        read = await imap.read_new(box, inbox)
        seconds = time.perf_counter() - started
        contacts = await pool.fetchval("SELECT count(*) FROM contacts WHERE channel = 'email'")
        acks = await pool.fetchval(
            "SELECT count(*) FROM outbox WHERE idempotency_key LIKE 'email:ack:%'"
        )
        classified = await pool.fetchval(
            "SELECT count(*) FROM contacts WHERE case_type <> 'general'"
        )
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await pool.close()
    assert (read, contacts, acks) == (n, n, n), (read, contacts, acks)
    return {
        "classifier": "on" if classifier else "off",
        "seconds": round(seconds, 2),
        "messages_per_s": round(n / seconds),
        "contacts": contacts,
        "acknowledgements_queued": acks,
        "not_general": classified,
    }


def ingest(n: int, classifiers: list[bool]) -> dict[str, Any]:
    inquiries = Inquiries("ingest")
    model = Path(tempfile.mkdtemp(prefix="contactd-bench-model-")) / "case-types.skops"
    result: dict[str, Any] = {"messages": n}
    with mailserver.dovecot() as server, embedded_server() as pg:
        started = time.perf_counter()
        size = fill_maildir(server, inquiries, n)
        result["fill_maildir_s"] = round(time.perf_counter() - started, 2)
        result["mailbox_mib"] = round(size / 2**20, 1)
        started = time.perf_counter()
        assert mailserver.count(server.port, "ALL") == n  # Dovecot indexes the new files
        result["dovecot_first_select_s"] = round(time.perf_counter() - started, 2)
        runs = []
        for i, on in enumerate(classifiers):
            if i:
                _mark_all_unseen(server.port)
            db_url = asyncio.run(fresh_database(pg, f"bench_ingest_{i}"))
            run = asyncio.run(ingest_once(server.port, db_url, on, model, n))
            run["unseen_after"] = mailserver.count(server.port, "UNSEEN")
            assert run["unseen_after"] == 0, run
            runs.append(run)
        result["runs"] = runs
    shutil.rmtree(model.parent, ignore_errors=True)
    return result


# --- 2. APPEND to acknowledgement ---------------------------------------------------------


class Arrivals:
    """An aiosmtpd handler noting when each acknowledgement arrives, by its In-Reply-To."""

    def __init__(self) -> None:
        self.at: dict[str, tuple[float, float]] = {}  # Message-ID -> (perf_counter, time)

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        now, wall = time.perf_counter(), time.time()
        headers = BytesHeaderParser(policy=email.policy.default).parsebytes(envelope.content)
        self.at[str(headers.get("In-Reply-To", "")).strip()] = (now, wall)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dovecot_idle_push(port: int, samples: int, interval: float) -> list[float]:
    """APPEND (its OK) to the EXISTS Dovecot pushes to a plain IDLE session, in seconds."""
    _create_folder(port, "Probe")
    idle = socket.create_connection(("127.0.0.1", port), timeout=10)
    lines = idle.makefile("rb")

    def until(prefix: bytes) -> None:
        while not lines.readline().startswith(prefix):
            pass

    until(b"* OK")
    idle.sendall(f"a LOGIN {mailserver.USER} {mailserver.PASSWORD}\r\n".encode())
    until(b"a ")
    idle.sendall(b"b SELECT Probe\r\n")
    until(b"b ")
    latencies = []
    with _imap_client(port) as client:
        for i in range(samples):
            idle.sendall(b"c IDLE\r\n")
            until(b"+")
            time.sleep(interval)
            client.append("Probe", "", None, f"Subject: probe {i}\r\n\r\nprobe\r\n".encode())
            appended = time.perf_counter()
            while not lines.readline().rstrip().endswith(b"EXISTS"):
                pass
            latencies.append(time.perf_counter() - appended)
            idle.sendall(b"DONE\r\n")
            until(b"c ")
    idle.sendall(b"d LOGOUT\r\n")
    idle.close()
    return latencies


def _summary_ms(values: list[float]) -> dict[str, float]:
    ms = sorted(v * 1000 for v in values)
    return {
        "p50": round(statistics.median(ms), 1),
        "p99": round(statistics.quantiles(ms, n=100, method="inclusive")[98], 1),
        "max": round(ms[-1], 1),
    }


def _wait_for(arrivals: Arrivals, ids: list[str], within: float) -> list[str]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        missing = [i for i in ids if i not in arrivals.at]
        if not missing:
            return []
        time.sleep(0.01)
    return [i for i in ids if i not in arrivals.at]


def _wait_for_classifier(daemon: Daemon) -> None:
    """Until the daemon's /health says its model is loaded (trained on a fresh data dir)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with urllib.request.urlopen(daemon.url + "/health") as r:  # noqa: S310 - its own URL
            if json.loads(r.read())["classifier"] == "ready":
                return
        time.sleep(0.05)
    sys.exit(f"the classifier did not get ready:\n{daemon.log.read_text()}")


def acks_once(n: int, rate: float, classifier: bool, outbox_poll: float) -> dict[str, Any]:
    arrivals = Arrivals()
    smtp_port = _free_port()
    controller = Controller(arrivals, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    data = Path(tempfile.mkdtemp(prefix="contactd-bench-email-acks-"))
    inquiries = Inquiries(f"ack-{int(classifier)}")
    daemon = None
    try:
        with mailserver.dovecot() as server:
            push = dovecot_idle_push(server.port, 20, 1 / rate)
            daemon = Daemon(
                data,
                env={
                    "CONTACTD_CLASSIFIER__ENABLED": str(classifier).lower(),
                    "CONTACTD_EMAIL__ADDRESS": AGENCY,
                    "CONTACTD_EMAIL__MAILBOXES": (
                        f'{{ kontakt = {{ host = "127.0.0.1", port = {server.port}, '
                        f'user = "{mailserver.USER}", ssl = false }} }}'
                    ),
                    "CONTACTD_MAILBOX_KONTAKT_PASSWORD": mailserver.PASSWORD,
                    "CONTACTD_EMAIL__POLL_SECONDS": "3600",
                    "CONTACTD_EMAIL__SMTP": (
                        f'{{ host = "127.0.0.1", port = {smtp_port}, starttls = false }}'
                    ),
                    "CONTACTD_OUTBOX__POLL_SECONDS": str(outbox_poll),
                },
            )
            daemon.wait_ready()
            if classifier:
                _wait_for_classifier(daemon)
            appended: dict[str, tuple[float, float]] = {}
            with _imap_client(server.port) as client:
                warm = []
                for i in range(3):  # leadership taken, sessions open, code paths warm
                    raw, message_id = inquiries.make(n + i)
                    client.append("INBOX", "", None, raw)
                    warm.append(message_id)
                if _wait_for(arrivals, warm, 60):
                    sys.exit(f"no acknowledgement of the warm-up mail:\n{daemon.log.read_text()}")
                time.sleep(1)
                start = time.perf_counter()
                for i in range(n):
                    raw, message_id = inquiries.make(i)
                    pause = start + i / rate - time.perf_counter()
                    if pause > 0:
                        time.sleep(pause)
                    client.append("INBOX", "", None, raw)
                    appended[message_id] = (time.perf_counter(), time.time())
            missing = _wait_for(arrivals, list(appended), 60)
            socket_dir = (data / "pgdata" / "postmaster.pid").read_text().splitlines()[4]
            created = dict(
                line.split("|")
                for line in psql(
                    socket_dir,
                    "SELECT external_id, extract(epoch FROM created_at) FROM contacts",
                ).splitlines()
            )
    finally:
        if daemon is not None:
            daemon.stop()
        controller.stop()
        shutil.rmtree(data, ignore_errors=True)
    if missing:
        sys.exit(f"{len(missing)} of {n} acknowledgements never arrived")
    total, reading, sending = [], [], []
    for message_id, (at, wall) in appended.items():
        arrived, arrived_wall = arrivals.at[message_id]
        total.append(arrived - at)
        reading.append(float(created[message_id]) - wall)
        sending.append(arrived_wall - float(created[message_id]))
    return {
        "classifier": "on" if classifier else "off",
        "append_to_ack_ms": _summary_ms(total),
        "append_to_contact_created_ms": _summary_ms(reading),
        "contact_created_to_ack_ms": _summary_ms(sending),
        "dovecot_idle_push_ms": _summary_ms(push),
    }


def acks(n: int, rate: float, classifiers: list[bool], outbox_poll: float) -> dict[str, Any]:
    return {
        "acks": n,
        "appends_per_s": rate,
        "outbox_poll_seconds": outbox_poll,
        "runs": [acks_once(n, rate, on, outbox_poll) for on in classifiers],
    }


# --- 3. memory ----------------------------------------------------------------------------


def _reset_peak_rss() -> bool:
    """Reset the kernel's high-water mark of this process's RSS (VmHWM) to its RSS now."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


class Sampler(threading.Thread):
    """psutil's RSS of this process every 2 ms, keeping the highest."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0
        self.running = True

    def run(self) -> None:
        me = psutil.Process()
        while self.running:
            self.peak = max(self.peak, me.memory_info().rss)
            time.sleep(0.002)


async def memory_child(port: int, db_url: str, traced: bool) -> dict[str, Any]:
    """Runs in a process of its own: see the module's docstring, part 3."""
    config = mailserver.daemon_config(db_url, port, CONTACTD_EMAIL__ADDRESS=AGENCY)
    pool = await _pool(config, db_url)
    try:
        intake = Intake(pool, config, clock=wall_clock, recorder=NOT_RECORDED)
        inbox = _inbox(pool, intake, config)
        [box] = mailboxes.mailboxes(config.email, config.mailbox_passwords)
        assert await imap.read_new(dataclasses.replace(box, folder="Warmup"), inbox) == 1
        gc.collect()
        hwm = _reset_peak_rss()
        before = psutil.Process().memory_info().rss
        sampler = Sampler()
        sampler.start()
        if traced:
            tracemalloc.start()
        started = time.perf_counter()
        read = await imap.read_new(box, inbox)
        seconds = time.perf_counter() - started
        traced_peak = tracemalloc.get_traced_memory()[1] if traced else 0
        tracemalloc.stop()
        sampler.running = False
        sampler.join()
        # The kernel updates VmHWM from counters it syncs now and then: take the higher.
        peak = max(_status_kib("VmHWM") * 1024 if hwm else 0, sampler.peak)
        stored = await pool.fetchrow(
            "SELECT octet_length(raw) AS raw, (attachments -> 0 ->> 'size')::bigint AS scan "
            "FROM messages WHERE kind = 'mail' ORDER BY id DESC LIMIT 1"
        )
    finally:
        await pool.close()
    assert read == 1, read
    assert stored is not None
    mib = 2**20
    if traced:
        return {"seconds": round(seconds, 2), "tracemalloc_peak_mib": round(traced_peak / mib, 1)}
    return {
        "message_mib": round(stored["raw"] / mib, 1),
        "attachment_mib": round(stored["scan"] / mib, 1),
        "seconds": round(seconds, 2),
        "rss_before_mib": round(before / mib, 1),
        "rss_peak_mib": round(peak / mib, 1),
        "rss_peak_sampled_mib": round(sampler.peak / mib, 1),
        "peak_minus_before_mib": round((peak - before) / mib, 1),
        "peak_from": "VmHWM and sampled" if hwm else "sampled",
    }


def memory(attachment_bytes: int) -> dict[str, Any]:
    result: dict[str, Any] = {"attachment_bytes": attachment_bytes}
    big = mailserver.big_message(attachment_bytes)
    with mailserver.dovecot() as server, embedded_server() as pg:
        db_url = asyncio.run(fresh_database(pg, "bench_memory"))
        _create_folder(server.port, "Warmup")
        warm = Inquiries("warm")
        for traced in (False, True):
            mailserver.append(server.port, warm.make(int(traced))[0], folder="Warmup")
            mailserver.append(server.port, big.replace(b"<big-", f"<big{int(traced)}-".encode()))
            out = subprocess.run(
                [
                    sys.executable, "-m", "bench.email", "--memory-child",
                    "--imap-port", str(server.port), "--database-url", db_url,
                    *(["--traced"] if traced else []),
                ],
                check=True, capture_output=True, text=True,
            ).stdout  # fmt: skip
            result["tracemalloc" if traced else "rss"] = json.loads(out.splitlines()[-1])
    return result


# --- the command --------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--acks", type=int, default=200)
    parser.add_argument("--rate", type=float, default=5, help="APPENDs a second (part 2)")
    parser.add_argument("--outbox-poll", type=float, default=0.5, help="[outbox] poll_seconds")
    parser.add_argument("--big", type=int, default=30_000_000, help="attachment bytes (part 3)")
    parser.add_argument("--only", choices=["ingest", "acks", "memory"])
    parser.add_argument("--classifier", choices=["off", "on", "both"], default="both")
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--imap-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    # As the daemon under the other benchmarks: warnings and errors only.
    logs.configure(format="console", level="warning", stream=sys.stderr)
    if args.memory_child:
        print(json.dumps(asyncio.run(memory_child(args.imap_port, args.database_url, args.traced))))
        return
    if not Path(mailserver.DOVECOT).exists():
        raise SystemExit("Dovecot is missing: run scripts/bootstrap --dev")
    classifiers = {"off": [False], "on": [True], "both": [False, True]}[args.classifier]
    result: dict[str, Any] = {}
    if args.only in (None, "ingest"):
        result["ingest"] = ingest(args.messages, classifiers)
    if args.only in (None, "acks"):
        result["append_to_acknowledgement"] = acks(
            args.acks, args.rate, classifiers, args.outbox_poll
        )
    if args.only in (None, "memory"):
        result["memory"] = memory(args.big)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
