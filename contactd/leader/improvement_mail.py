"""The improvement report by e-mail: the short report each day for the day before, to
`[improvement] daily_to`, and the whole one each Monday for the week before, to `weekly_to`,
from `[email] address`, through the outbox (a mail per recipient, with the chart and the CSV
attached), at `send_at` local time.

Only the leader runs it. Each period is claimed in improvement_mailings in the transaction
that puts its mails in the outbox, so it is mailed exactly once whichever instance leads,
however often one starts; a leader that takes over late still mails the latest period due.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import asyncpg
import structlog

from channels.email.answer import new_message_id
from channels.ports import OutboxItem
from contactd.services import improvement, improvement_output
from contactd.services.improvement import Period
from contactd.settings import Settings
from contactd.store import contacts, database, queries

log = structlog.get_logger(__name__)
POLL_SECONDS = 300  # how often the leader looks whether a report is due: within 5 minutes


def due(now: datetime, settings: Settings) -> list[tuple[str, Period]]:
    """The periods whose mail is due at `now`: yesterday once `send_at` has passed today
    (else the day before), and last week once Monday's `send_at` has passed."""
    local = now.astimezone(settings.timezone)
    today, passed = local.date(), local.time() >= settings.improvement.send_at
    found = []
    if settings.improvement.daily_to:
        day = today - timedelta(days=1 if passed else 2)
        found.append(("daily", Period(day, day)))
    if settings.improvement.weekly_to:
        back = 7 if passed or today.weekday() > 0 else 14
        found.append(("weekly", Period.week_of(today - timedelta(days=back))))
    return found


async def mail_due(pool: asyncpg.Pool, settings: Settings, *, now: datetime) -> list[str]:
    """Every due period not mailed yet, put in the outbox; the kinds enqueued now."""
    sent = []
    for kind, period in due(now, settings):
        if await pool.fetchval(queries.get("improvement_was_mailed"), kind, period.first):
            continue  # the usual case: read before the report is made, not after
        recipients = (
            settings.improvement.daily_to if kind == "daily" else settings.improvement.weekly_to
        )
        async with pool.acquire() as conn:
            report = await improvement.of_agency(conn, settings, period, now=now)
            # The chart takes a second of CPU: off the event loop the leader routes on.
            sender = settings.email.address or ""
            items = await asyncio.to_thread(mails, report, kind, recipients, sender=sender)
            async with conn.transaction():
                claimed = await conn.fetchval(
                    queries.get("improvement_mailed"), kind, period.first, len(items), now
                )
                if claimed is None:
                    continue  # another leader's pass got there first
                for item in items:
                    await contacts.insert_outbox(conn, None, item, now=now)
        log.info("improvement.mailed", kind=kind, period=period.label, recipients=len(items))
        sent.append(kind)
    return sent


def mails(
    report: improvement.Improvement, kind: str, recipients: Sequence[str], *, sender: str
) -> list[OutboxItem]:
    """A multipart mail per recipient: the report as text, the chart (PNG) and, weekly, the
    figures (CSV) attached."""
    short = kind == "daily"
    text = "\n".join(improvement_output.text(report, short=short)) + "\n"
    name = f"improvement-{report.period.label.replace(' ', '_')}"
    files = [_file(f"{name}.png", "image/png", improvement_output.png(report))]
    if not short:
        table = improvement_output.csv_text(report).encode()
        files.append(_file(f"{name}.csv", "text/csv", table))
    subject = f"{'Daily' if short else 'Weekly'} improvement report {report.period.label}"
    items = []
    for to in recipients:
        # The key names the recipient by a hash only: an address is no part of a key.
        key = hashlib.sha256(f"{kind}:{report.period.first}:{to}".encode()).hexdigest()[:24]
        payload = {
            "from": sender, "to": to, "subject": subject, "text": text, "files": files,
            "message_id": new_message_id(f"improvement-{key}", sender or "contactd.invalid"),
        }  # fmt: skip
        items.append(OutboxItem(kind="email", key=f"improvement:{key}", payload=payload))
    return items


def _file(name: str, content_type: str, data: bytes) -> dict[str, str]:
    return {"name": name, "content_type": content_type, "base64": base64.b64encode(data).decode()}


async def run(pool: asyncpg.Pool, settings: Settings, clock: Callable[[], datetime]) -> None:
    """The leader's loop: a look every POLL_SECONDS. A failed pass is tried at the next."""
    if not (settings.improvement.daily_to or settings.improvement.weekly_to):
        log.info("improvement.no_mail", why="[improvement] daily_to and weekly_to are empty")
        return
    if settings.email.address is None or settings.email.smtp is None:
        log.warning("improvement.no_mail", why="[email] address or [email.smtp] is not set")
        return
    while True:
        try:
            await mail_due(pool, settings, now=clock())
        except database.ANY_ERROR as exc:
            log.warning("improvement.failed", error=type(exc).__name__)
        await asyncio.sleep(POLL_SECONDS)
