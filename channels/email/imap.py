"""Reading a mailbox over IMAP (aioimaplib): every unseen message is handed to the inbox.

A message is flagged \\Seen (or moved to the processed folder) only after the inbox has
committed it, so a crash in between reads it again, and its key (the Message-ID, else the
mailbox, UIDVALIDITY and UID) makes that second read find what the first one stored. A message
the inbox quarantines (one it could not store after a few tries, or one more than its contact
takes) is moved, unread, to the quarantine folder, where staff read it in a mail program.

One session per mailbox stays logged in: it waits with IDLE where the server has it, so new
mail arrives within a second, and polls otherwise. Errors are sorted as Home Assistant's
imap integration sorts them: the login refused, the folder missing (both need an operator;
tried again slowly) and the server unreachable or gone (tried again with backoff).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import re
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Literal, Protocol

import aioimaplib
import structlog

from channels.email import authresults
from channels.email.message import ParsedMail, parse

log = structlog.get_logger(__name__)

_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_UIDS = re.compile(rb"[\d ]*")
CHUNK_MESSAGES = 50  # fetched in one command and stored concurrently
CHUNK_BYTES = 32_000_000  # ... unless they are this big together (one bigger message alone)
PARSE_INLINE_BYTES = 256_000  # bigger messages are parsed in a thread
# What staff read instead of a mail too big to fetch.
TOO_LARGE = (
    "[Denne e-mail er {mb:.1f} MB, mere end de {limit:.1f} MB, contactd henter. "
    "Læs den i postkassen {mailbox}. / This e-mail is {mb:.1f} MB, more than the "
    "{limit:.1f} MB contactd fetches. Read it in the mailbox {mailbox}.]"
)
TRANSIENT = (aioimaplib.Abort, aioimaplib.CommandTimeout, OSError, TimeoutError, ConnectionError)


@dataclasses.dataclass(frozen=True, kw_only=True)
class MailboxSettings:
    name: str  # for logs and the channel's status, never an address
    host: str
    port: int
    user: str
    password: str
    folder: str = "INBOX"
    processed_folder: str | None = None
    quarantine_folder: str = "Quarantine"  # made at login if missing
    ssl: bool = True
    timeout_seconds: float = 30
    max_message_bytes: int = 50_000_000
    # The authserv-ids of the receiving server: only its Authentication-Results are believed.
    authserv_ids: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, kw_only=True)
class IncomingMail:
    mailbox: str
    key: str  # the Message-ID, else imap:<mailbox>:<uidvalidity>:<uid>
    raw: bytes  # the whole message; only its header when it was too big to fetch
    mail: ParsedMail
    size: int  # bytes on the server
    complete: bool  # False: bigger than max_message_bytes, so only the header was fetched
    notice: str | None = None  # for staff, when the mail was not complete
    # The receiving server's verdict on the sender (authresults.verdict); None: not checked.
    authentication: dict[str, str] | None = None


# What the inbox did with a message; "quarantined": it goes to the quarantine folder.
Outcome = Literal["new", "duplicate", "threaded", "reopened", "bounce", "capped", "quarantined"]


@dataclasses.dataclass(frozen=True)
class Received:
    reference: str
    outcome: Outcome


class Inbox(Protocol):
    """Where a message goes: committed when `receive` returns (contactd's mail intake)."""

    async def receive(self, incoming: IncomingMail) -> Received: ...


# The mailbox's state for operators: 'idle', 'polling', 'refused' or 'unavailable', and a
# detail (never an address or a password).
Report = Callable[[str, str | None], Awaitable[None]]


async def _no_report(state: str, detail: str | None) -> None:
    return None


class MailboxError(Exception):
    """The mailbox refuses us: `kind` is 'auth' (login) or 'folder'; an operator must act."""

    def __init__(self, kind: Literal["auth", "folder"], message: str) -> None:
        super().__init__(message)
        self.kind = kind


class _Session:
    def __init__(
        self,
        imap: aioimaplib.IMAP4,
        settings: MailboxSettings,
        validity: str,
        lost: asyncio.Event,  # set when the server closes the connection
    ) -> None:
        self.imap = imap
        self.settings = settings
        self.validity = validity
        self.lost = lost
        self.changed = False  # the server announced new mail while we were searching

    @property
    def can_idle(self) -> bool:
        return bool(self.imap.has_capability("IDLE"))

    async def read_new(self, inbox: Inbox) -> int:
        """Each unseen message to the inbox, then flagged (and moved). Returns how many the
        inbox took: a message it could not take stays unseen for the next pass."""
        found = await self.imap.uid_search("UNSEEN")
        # Mail that came during the search is announced in its response, not in the IDLE
        # that follows: the caller must read again rather than wait.
        self.changed = any(
            isinstance(line, bytes) and line.rstrip().endswith(b"EXISTS") for line in found.lines
        )
        if found.result != "OK":  # the folder was deleted or renamed under us
            raise MailboxError("folder", f"mailbox {self.settings.name}: cannot search the folder")
        # The SEARCH line is the one of numbers only (EXISTS and RECENT lines may come first).
        numbers = (
            line for line in found.lines if isinstance(line, bytes) and _UIDS.fullmatch(line)
        )
        uids = next(numbers, b"").split()
        read = 0
        for chunk in _chunks(await self._sizes([u.decode() for u in uids])):
            read += await self._read_chunk(inbox, chunk)
        return read

    async def _sizes(self, uids: Sequence[str]) -> list[tuple[str, int]]:
        if not uids:
            return []
        sizes: dict[str, int] = {}
        for start in range(0, len(uids), 500):
            fetched = await self.imap.uid(
                "fetch", ",".join(uids[start : start + 500]), "(RFC822.SIZE)"
            )
            for line in fetched.lines:
                if isinstance(line, bytes) and (uid := _UID.search(line)) and (
                    size := _SIZE.search(line)
                ):  # fmt: skip
                    sizes[uid.group(1).decode()] = int(size.group(1))
        return [(uid, sizes[uid]) for uid in uids if uid in sizes]

    async def _read_chunk(self, inbox: Inbox, chunk: list[tuple[str, int]]) -> int:
        limit = self.settings.max_message_bytes
        whole = [uid for uid, size in chunk if size <= limit]
        raws = await self._fetch(whole, "BODY.PEEK[]")
        raws |= await self._fetch([uid for uid, size in chunk if size > limit], "BODY.PEEK[HEADER]")
        incoming = []
        for uid, size in chunk:
            raw = raws.get(uid)
            if raw is None:
                log.warning("imap.fetch_failed", mailbox=self.settings.name, uid=uid)
                continue
            # A big message takes the parser most of a second: off the event loop with it.
            parsed = (
                parse(raw) if len(raw) < PARSE_INLINE_BYTES else await asyncio.to_thread(parse, raw)
            )
            incoming.append((uid, self._incoming(uid, raw, parsed, size)))
        results = await asyncio.gather(
            *(inbox.receive(mail) for _, mail in incoming), return_exceptions=True
        )
        done: list[str] = []
        quarantined: list[str] = []
        for (uid, mail), result in zip(incoming, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    raise result
                log.error(
                    "imap.not_stored",
                    mailbox=self.settings.name,
                    uid=uid,
                    error=type(result).__name__,  # its text might quote the mail
                )
                continue
            (quarantined if result.outcome == "quarantined" else done).append(uid)
            log.info(
                "imap.read",
                mailbox=self.settings.name,
                reference=result.reference,
                outcome=result.outcome,
                bytes=mail.size,
            )
        await self._mark_done(done)
        return len(done) + await self._quarantine(quarantined)

    def _incoming(self, uid: str, raw: bytes, parsed: ParsedMail, size: int) -> IncomingMail:
        limit = self.settings.max_message_bytes
        if size > limit:  # only its header was fetched: no body, no attachments to list
            parsed = dataclasses.replace(parsed, text="", html=None, attachments=())
        return IncomingMail(
            mailbox=self.settings.name,
            key=parsed.message_id or f"imap:{self.settings.name}:{self.validity}:{uid}",
            raw=raw,
            mail=parsed,
            size=size,
            complete=size <= limit,
            notice=None if size <= limit else TOO_LARGE.format(
                mb=size / 1e6, limit=limit / 1e6, mailbox=self.settings.name
            ),
            authentication=authresults.verdict(
                parsed.authentication_results, self.settings.authserv_ids
            ),
        )  # fmt: skip

    async def _fetch(self, uids: Sequence[str], part: str) -> dict[str, bytes]:
        """The messages' bytes by UID. A literal comes with its FETCH line; servers may name
        the UID before or after it, so both are read."""
        if not uids:
            return {}
        fetched = await self.imap.uid("fetch", ",".join(uids), f"(UID {part})")
        if fetched.result != "OK":
            return {}
        found: dict[str, bytes] = {}
        uid: str | None = None
        literal: bytes | None = None
        for line in fetched.lines:
            if isinstance(line, bytearray):
                literal = bytes(line)
            elif (m := _UID.search(line)) is not None:
                uid = m.group(1).decode()
            if uid is not None and literal is not None:
                found[uid] = literal
                uid = literal = None
        return found

    async def _mark_done(self, uids: Sequence[str]) -> None:
        """Only now, with the messages committed, are they done on the server."""
        if not uids:
            return
        uid_set = ",".join(uids)
        await self._command("store", uid_set, "+FLAGS", "(\\Seen)")
        if self.settings.processed_folder is not None:
            await self._move(uid_set, self.settings.processed_folder)

    async def _quarantine(self, uids: Sequence[str]) -> int:
        """To the quarantine folder, unread there, so that staff see them as new; how many
        went. Until the move succeeds they stay here unseen, not counted as read (the
        watcher waits for new mail before it tries again), and the inbox quarantines them
        again without a second notice."""
        if not uids:
            return 0
        return len(uids) if await self._move(",".join(uids), self.settings.quarantine_folder) else 0

    async def _move(self, uid_set: str, target: str) -> bool:
        if self.imap.has_capability("MOVE"):
            moved = await self._command("move", uid_set, _quoted(target))
        else:  # copy, then delete here (RFC 6851's fallback), seen so no search finds it again
            moved = await self._command("copy", uid_set, _quoted(target))
            if moved.result == "OK":
                await self._command("store", uid_set, "+FLAGS", "(\\Seen \\Deleted)")
                if self.imap.has_capability("UIDPLUS"):
                    await self._command("expunge", uid_set)
                else:
                    log.info("imap.no_uidplus", mailbox=self.settings.name, kept="deleted flag")
        if moved.result != "OK":
            log.warning("imap.move_failed", mailbox=self.settings.name, folder=target)
        return bool(moved.result == "OK")

    async def wait_for_mail(self, idle_seconds: float, poll_seconds: float) -> None:
        """Until the server says new mail came (IDLE), or the poll interval has passed."""
        if not self.can_idle:
            await asyncio.sleep(poll_seconds)
            return
        idle = await self.imap.idle_start(timeout=idle_seconds)
        pushed = await self._until_lost(self.imap.wait_server_push(timeout=idle_seconds + 5))
        # A server shutting down says BYE (and then closes): no DONE will be answered.
        if self.lost.is_set() or any(
            isinstance(line, bytes) and line.startswith(b"BYE") for line in pushed or ()
        ):
            raise ConnectionError("the IMAP server closed the connection")
        self.imap.idle_done()
        await self._until_lost(_within(idle, self.settings.timeout_seconds))
        if self.lost.is_set():
            raise ConnectionError("the IMAP server closed the connection")

    async def _command(self, command: str, *args: str) -> Any:
        """A UID command (STORE, COPY, MOVE, EXPUNGE) within the timeout, or an error as
        soon as the connection is lost: aioimaplib gives these neither."""
        response = await self._until_lost(
            _within(self.imap.uid(command, *args), self.settings.timeout_seconds)
        )
        if response is None:
            raise ConnectionError("the IMAP server closed the connection")
        return response

    async def _until_lost(self, waiting: Awaitable[Any]) -> Any:
        """`waiting`'s result, or None as soon as the server closes the connection. A stop
        that the library swallowed earlier stops here, before a wait of up to minutes (IDLE)."""
        _stop_if_cancelled(waiting)
        task = asyncio.ensure_future(waiting)
        lost = asyncio.ensure_future(self.lost.wait())
        try:
            await asyncio.wait({task, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            task.cancel()
            lost.cancel()
            await asyncio.gather(task, lost, return_exceptions=True)
        if task.cancelled() or task.exception() is not None:
            if isinstance(task.exception(), asyncio.TimeoutError) and not self.lost.is_set():
                raise TimeoutError("the IMAP server did not answer in time")
            return None
        return task.result()


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _chunks(sized: list[tuple[str, int]]) -> list[list[tuple[str, int]]]:
    chunks: list[list[tuple[str, int]]] = [[]]
    total = 0
    for uid, size in sized:
        if chunks[-1] and (len(chunks[-1]) >= CHUNK_MESSAGES or total + size > CHUNK_BYTES):
            chunks.append([])
            total = 0
        chunks[-1].append((uid, size))
        total += size
    return [c for c in chunks if c]


@contextlib.asynccontextmanager
async def session(settings: MailboxSettings) -> AsyncIterator[_Session]:
    """A logged-in session with the folder selected (and the processed folder made)."""
    lost = asyncio.Event()
    imap = aioimaplib.IMAP4(
        host=settings.host,
        port=settings.port,
        timeout=settings.timeout_seconds,
        conn_lost_cb=lambda exc: lost.set(),
        ssl_context=ssl.create_default_context() if settings.ssl else None,
    )
    try:
        await imap.wait_hello_from_server()
        if (await imap.login(settings.user, settings.password)).result != "OK":
            raise MailboxError("auth", f"mailbox {settings.name}: login refused")
        selected = await imap.select(_quoted(settings.folder))
        if selected.result != "OK":
            raise MailboxError("folder", f"mailbox {settings.name}: no folder {settings.folder!r}")
        for made in (settings.processed_folder, settings.quarantine_folder):
            if made is not None:
                await imap.create(_quoted(made))  # NO when it exists: fine
        validity = next(
            (m.group(1).decode() for line in selected.lines if (m := _UIDVALIDITY.search(line))),
            "0",
        )
        yield _Session(imap, settings, validity, lost)
    finally:
        await _close(imap, lost)


async def _close(imap: aioimaplib.IMAP4, lost: asyncio.Event) -> None:
    """Log out if the server is still there, and leave no task or socket of the session. A
    daemon that stops (the task is cancelled) only closes the connection: the server needs
    no goodbye, and a stop must not wait for one."""
    task = asyncio.current_task()
    stopping = task is not None and task.cancelling() > 0
    with contextlib.suppress(*TRANSIENT):
        if not lost.is_set() and not stopping:
            if imap.has_pending_idle():
                imap.idle_done()
            await _within(imap.logout(), 2)
    pending = [task for task in imap.tasks if not task.done()]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    transport = imap.protocol.transport if imap.protocol is not None else None
    if transport is not None:
        transport.close()


async def read_new(settings: MailboxSettings, inbox: Inbox) -> int:
    """One pass over the mailbox in a session of its own (tests, benches, the CLI)."""
    async with session(settings) as opened:
        return await opened.read_new(inbox)


async def _within(waiting: Awaitable[Any], seconds: float) -> Any:
    """`waiting` within `seconds` (asyncio.timeout: on 3.11 wait_for can swallow a
    cancellation, and a stopping daemon must not go on reading)."""
    async with asyncio.timeout(seconds):
        return await waiting


def _stop_if_cancelled(waiting: Awaitable[Any] | None = None) -> None:
    """A cancellation that a library swallowed (aioimaplib waits with wait_for) still stops
    the reader: the task remembers it was asked to stop. `waiting`, not to be awaited now,
    is closed so that it warns of nothing."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        if inspect.iscoroutine(waiting):
            waiting.close()
        raise asyncio.CancelledError


async def watch(
    settings: MailboxSettings,
    inbox: Inbox,
    *,
    poll_seconds: float,
    idle_seconds: float = 300,
    report: Report = _no_report,
) -> None:
    """Read the mailbox for as long as this daemon leads. A mailbox that refuses us is tried
    again every 5 minutes; a server that went away, after 1 s, 2 s, 4 s ... up to 5 minutes.
    Nothing is lost meanwhile: unread mail waits on the server."""
    backoff = 1.0
    while True:
        try:
            async with session(settings) as opened:
                state = "idle" if opened.can_idle else "polling"
                await report(state, None)
                backoff = 1.0
                while True:
                    _stop_if_cancelled()
                    if await opened.read_new(inbox):
                        await report(state, None)
                        continue  # more may have come while we read
                    if opened.changed:
                        continue
                    await opened.wait_for_mail(idle_seconds, poll_seconds)
        except MailboxError as exc:
            log.error("imap.refused", mailbox=settings.name, kind=exc.kind, error=str(exc))
            await report("refused", str(exc))
            delay = 300.0
        except TRANSIENT as exc:
            delay, backoff = backoff, min(backoff * 2, 300)
            log.warning(
                "imap.unavailable",
                mailbox=settings.name,
                error=type(exc).__name__,
                retry_in_seconds=delay,
            )
            await report("unavailable", f"{type(exc).__name__}; retrying in {delay:g} s")
        _stop_if_cancelled()
        await asyncio.sleep(delay)
