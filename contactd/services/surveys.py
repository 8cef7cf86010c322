"""Client satisfaction (CSAT), as the agency measured it: after a finished contact, a share of
clients is asked once, by SMS or e-mail, "How satisfied are you, in general, with the
service?", through a short signed link to a one-question page (contactd/http/surveys.py).

The leader's loop picks the contacts (done `delay_minutes` ago and within a day, not asked,
chosen by their queue's `csat_share`) and writes each survey row and its message in one
transaction. A link's token is signed with a key kept in the database, so that every
instance checks the links of every other; the answer is stored once, by the database.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta

import asyncpg
import phonenumbers
import structlog

from channels.email.answer import MAX_REFERENCES, new_message_id
from channels.ports import OutboxItem
from channels.wording import Wording
from contactd.clock import Clock
from contactd.metrics import Recorder
from contactd.settings import Agency, CsatConfig, Settings
from contactd.store import contacts as store
from contactd.store import database, messages, queries
from routing.contact import Channel
from routing.errors import DomainError, Kind

log = structlog.get_logger(__name__)

KEY_NAME = "csat"
POLL_SECONDS = 30.0
BATCH = 200  # contacts asked in one pass; a pass that fills it goes on at once
MAX_COMMENT_CHARS = 1000
SMS_CHANNELS = (Channel.CALL, Channel.CALLBACK, Channel.TICKET)

# The token: the contact id (6 bytes: 2.8e14 contacts), the expiry (4 bytes of Unix seconds:
# until 2106) and 11 bytes (88 bits) of HMAC-SHA256 over both. 21 bytes are 28 base64url
# characters exactly, with no padding, so no two texts decode to the same token.
_ID_BYTES, _EXPIRY_BYTES, _MAC_BYTES = 6, 4, 11
TOKEN_LENGTH = (_ID_BYTES + _EXPIRY_BYTES + _MAC_BYTES) * 4 // 3
_TOKEN = re.compile(rf"[A-Za-z0-9_-]{{{TOKEN_LENGTH}}}")

# The link's token.


@dataclasses.dataclass(frozen=True, kw_only=True)
class Link:
    contact_id: int
    expires_at: datetime


def sign(key: bytes, contact_id: int, expires_at: datetime) -> str:
    body = contact_id.to_bytes(_ID_BYTES, "big") + int(expires_at.timestamp()).to_bytes(
        _EXPIRY_BYTES, "big"
    )
    return base64.urlsafe_b64encode(body + _mac(key, body)).decode("ascii")


def verify(key: bytes, token: str) -> Link | None:
    """The link a token names, if this key signed it; None for anything else."""
    if not _TOKEN.fullmatch(token):
        return None
    try:
        raw = base64.urlsafe_b64decode(token)
    except (binascii.Error, ValueError):
        return None
    body, mac = raw[: _ID_BYTES + _EXPIRY_BYTES], raw[_ID_BYTES + _EXPIRY_BYTES :]
    if not hmac.compare_digest(mac, _mac(key, body)):
        return None
    return Link(
        contact_id=int.from_bytes(body[:_ID_BYTES], "big"),
        expires_at=datetime.fromtimestamp(int.from_bytes(body[_ID_BYTES:], "big"), UTC),
    )


def _mac(key: bytes, body: bytes) -> bytes:
    # The purpose is signed too, so that a key used for something else never signs a survey.
    return hmac.new(key, b"contactd.csat\x00" + body, hashlib.sha256).digest()[:_MAC_BYTES]


def chosen(contact_id: int, share: float) -> bool:
    """Whether a contact of a queue that asks `share` of its contacts is asked: a hash of
    its id, so the same on every instance and every pass (csat_due computes it alike)."""
    digest = hashlib.md5(f"csat:{contact_id}".encode(), usedforsecurity=False).hexdigest()
    return int(digest[:13], 16) < share * 2**52


async def signing_key(
    db: database.Conn | asyncpg.Pool, *, now: datetime, name: str = KEY_NAME
) -> bytes:
    """The key shared by every instance, drawn by the first that needs it."""
    for _ in range(3):
        key: bytes | None = await db.fetchval(queries.get("signing_key"), name)
        if key is not None:
            return key
        await db.execute(queries.get("signing_key_create"), name, secrets.token_bytes(32), now)
    raise RuntimeError(f"the signing key {name!r} could not be read or stored")


# Asking.


@dataclasses.dataclass(frozen=True, kw_only=True)
class Survey:
    """A survey as the page sees it."""

    contact_id: int
    queue: str
    channel: str
    language: str
    expires_at: datetime
    score: int | None
    answered_at: datetime | None


class SurveyNotFound(DomainError):
    """No survey has this token: forged, altered, cut short, or of another database."""

    kind = Kind.NOT_FOUND
    code = "survey_not_found"

    def __init__(self) -> None:
        # Never the token in the message: it is the key to the answer.
        super().__init__("no survey has this link; check that you have the whole link")


class SurveyClosed(DomainError):
    """The survey can no longer be answered; the details name its language, so that the
    page says so in the client's."""

    def __init__(self, survey: Survey, message: str) -> None:
        super().__init__(message, details=[{"language": survey.language}])
        self.survey = survey


class SurveyAnswered(SurveyClosed):
    kind = Kind.CONFLICT
    code = "survey_answered"

    def __init__(self, survey: Survey) -> None:
        super().__init__(survey, "this survey has been answered already; thank you")


class SurveyExpired(SurveyClosed):
    kind = Kind.GONE
    code = "survey_expired"

    def __init__(self, survey: Survey) -> None:
        closed = survey.expires_at.isoformat(timespec="seconds")
        super().__init__(survey, f"this survey closed at {closed}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Reach:
    """How clients can be reached with a survey: the base URL of its link (None: no link to
    send), whether SMS can be sent, and the agency's e-mail address (None: no e-mail)."""

    public_url: str | None
    sms: bool
    email_address: str | None
    # The countries whose numbers may be texted (phone.countries): no survey SMS abroad.
    sms_countries: tuple[str, ...] = ("DK",)

    @property
    def calling_codes(self) -> list[str]:  # countries sharing one (+1, +7) are texted alike
        return sorted({f"+{phonenumbers.country_code_for_region(c)}" for c in self.sms_countries})


class Surveys:
    def __init__(
        self,
        pool: asyncpg.Pool,
        agency: Agency,
        config: CsatConfig,
        reach: Reach,
        *,
        wording: Wording,
        clock: Clock,
        recorder: Recorder,
    ) -> None:
        """`wording`: the messages that ask, `survey.*` of the sms and email catalogs."""
        self._pool = pool
        self._agency = agency
        self._wording = wording
        self._config = config
        self._reach = reach
        self._clock = clock
        self._recorder = recorder
        self._key: bytes | None = None
        self._shares = {q.code: q.csat_share for q in agency.queues if q.csat_share > 0}
        self._channels, self._off = _channels(reach)

    async def key(self) -> bytes:
        if self._key is None:
            self._key = await signing_key(self._pool, now=self._clock())
        return self._key

    def url(self, token: str) -> str:
        """The survey's link, as the message carries it."""
        return f"{(self._reach.public_url or '').rstrip('/')}/s/{token}"

    async def run(self, *, poll_seconds: float = POLL_SECONDS) -> None:
        """The leader's loop: ask the contacts that are due, every `poll_seconds`."""
        if self._reach.public_url is None:
            log.warning("csat.off", why="CONTACTD_PUBLIC_URL is not set: no link to send")
            return
        if not self._shares:
            log.info("csat.off", why="no queue has a csat_share above 0")
            return
        for channels, why in self._off.items():
            log.warning("csat.channel_off", channels=channels, why=why)
        if not self._channels:
            return
        while True:
            while await self.ask_due() >= BATCH:
                pass  # a backlog (after a pause of the leader): the next batch at once
            await asyncio.sleep(poll_seconds)

    async def ask_due(self) -> int:
        """Ask the contacts due now; how many were found."""
        if self._reach.public_url is None or not self._shares or not self._channels:
            return 0
        rows = await self._pool.fetch(
            queries.get("csat_due"),
            self._config.delay_minutes,
            list(self._shares),
            list(self._shares.values()),
            self._channels,
            BATCH,
            self._clock(),
            self._reach.calling_codes,
        )
        for row in rows:
            await self._ask(row)
        return len(rows)

    async def _ask(self, row: asyncpg.Record) -> None:
        via = "email" if row["channel"] == Channel.EMAIL else "sms"
        now = self._clock()
        expires = (now + timedelta(days=self._config.link_days)).replace(microsecond=0)
        key = await self.key()
        async with self._pool.acquire() as conn, conn.transaction():
            if await conn.fetchval(queries.get("csat_ask"), row["id"], via, expires, now) is None:
                return  # asked already, or reopened meanwhile
            url = self.url(sign(key, row["id"], expires))
            if via == "sms":
                item = self._sms(row, url)
            else:
                item = await self._email(conn, row, url, expires)
                # Kept with the conversation like every mail we send: a bounce of it is then
                # known as ours, not taken for a new contact.
                await messages.insert_sent(conn, row["id"], item.payload, kind="survey", now=now)
            await store.insert_outbox(conn, row["id"], item, now=now)
        log.info(
            "csat.asked", reference=row["reference"], queue=row["queue"],
            channel=row["channel"], via=via,
        )  # fmt: skip

    def _lang(self, row: asyncpg.Record) -> str:
        """The language the client reads, else the contact's, if the agency serves it (else
        its first)."""
        return self._wording.served(row["client_language"], row["language"])

    def _sms(self, row: asyncpg.Record, url: str) -> OutboxItem:
        text = self._wording.text("sms", self._lang(row), "survey.sms", url=url)
        return OutboxItem(
            kind="sms",
            key=f"csat:{row['id']}",
            payload={"to": row["client_address"], "body": text, "reference": row["reference"]},
        )

    async def _email(
        self, conn: database.Conn, row: asyncpg.Record, url: str, expires: datetime
    ) -> OutboxItem:
        """In the contact's language, threaded onto the client's last mail, as an answer is."""
        address, lang = self._reach.email_address or "", self._lang(row)
        date = f"{expires.astimezone(self._agency.timezone):%d.%m.%Y}"
        values = {"url": url, "reference": row["reference"], "date": date}
        thread = await messages.thread_ids(conn, row["id"])
        return OutboxItem(
            kind="email",
            key=f"csat:{row['id']}",
            payload={
                "from": address,
                "to": row["client_address"],
                "subject": self._wording.text("email", lang, "survey.subject", **values),
                "text": self._wording.text("email", lang, "survey.body", **values),
                "message_id": new_message_id(row["reference"], address),
                "in_reply_to": thread.last_message_id,
                "references": " ".join(thread.message_ids[-MAX_REFERENCES:]) or None,
                # RFC 3834: sent by a program; out-of-office replies must not answer it.
                "headers": {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"},
                "reference": row["reference"],
            },
        )

    # The page's side.

    async def verified(self, token: str) -> Link:
        """The link a token names; SurveyNotFound for a token not signed with our key."""
        link = verify(await self.key(), token)
        if link is None:
            raise SurveyNotFound()
        return link

    async def survey(self, token: str) -> Survey:
        """The open survey a token names. Raises SurveyNotFound, or SurveyClosed when it
        was answered (which the page says first: a thank-you) or has expired."""
        link = await self.verified(token)
        survey = await self._survey(link.contact_id)
        if survey.answered_at is not None:
            raise SurveyAnswered(survey)
        if self._clock() >= survey.expires_at:
            raise SurveyExpired(survey)
        return survey

    async def answer(self, token: str, score: int, comment: str | None) -> Survey:
        """Store the one answer of the survey a token names; raises as `survey` does."""
        link = await self.verified(token)
        row = await self._pool.fetchrow(
            queries.get("csat_answer"), link.contact_id, score, comment, self._clock()
        )
        if row is None:  # answered already (perhaps a moment ago), expired, or unknown
            # Raises, saying which; a survey it finds open closed just now.
            raise SurveyExpired(await self.survey(token))
        self._recorder.csat_answered(row["queue"], row["channel"], score)
        log.info("csat.answered", queue=row["queue"], channel=row["channel"], score=score)
        return await self._survey(link.contact_id)

    async def _survey(self, contact_id: int) -> Survey:
        row = await self._pool.fetchrow(queries.get("csat_survey"), contact_id)
        if row is None:  # signed, but not asked here (a restored database, say)
            raise SurveyNotFound()
        return Survey(
            contact_id=row["contact_id"],
            queue=row["queue"],
            channel=row["channel"],
            language=self._lang(row),  # the page asks in the language the client reads
            expires_at=row["expires_at"],
            score=row["score"],
            answered_at=row["answered_at"],
        )


def _channels(reach: Reach) -> tuple[list[str], dict[str, str]]:
    """The channels whose clients can be asked with this configuration, and why the others
    cannot: a survey that waits in the outbox for a sender would reach the client late."""
    can_sms, can_email = reach.sms, reach.email_address is not None
    off: dict[str, str] = {}
    if not can_sms:
        off["call, callback, ticket"] = (
            "no SMS: phone.account_sid, phone.number or CONTACTD_TWILIO_AUTH_TOKEN is not set"
        )
    if not can_email:
        off["email"] = "no e-mail: [email] address or [email.smtp] is not set"
    channels = [str(c) for c in SMS_CHANNELS] if can_sms else []
    if can_email:
        channels.append(str(Channel.EMAIL))
    return channels, off


def build_surveys(
    pool: asyncpg.Pool, settings: Settings, *, clock: Clock, recorder: Recorder
) -> Surveys:
    """The surveys, told only whether each sender is set up, not its secrets."""
    phone, email = settings.phone, settings.email
    reach = Reach(
        public_url=settings.public_url,
        sms=bool(phone.account_sid and phone.number and settings.twilio_auth_token),
        email_address=email.address if email.address and email.smtp else None,
        sms_countries=tuple(phone.countries),
    )
    words = settings.wording
    return Surveys(
        pool, settings, settings.csat, reach, wording=words, clock=clock, recorder=recorder
    )
