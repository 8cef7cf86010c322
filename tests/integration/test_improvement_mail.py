"""The improvement report mailed on a schedule (issue 22) on a real PostgreSQL and a real SMTP
server (aiosmtpd): due at `send_at` on the daemon's clock, put in the outbox exactly once per
period even when two leaders' passes race, and sent by the outbox as a well-formed multipart
mail with the chart (and, weekly, the CSV) attached."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg

from contactd import settings
from contactd.clock import FixedClock
from contactd.leader import improvement_mail
from contactd.leader.outbox import send_due
from contactd.leader.senders import senders
from contactd.metrics import NOT_RECORDED
from contactd.services.improvement import Period
from contactd.settings import Settings
from tests import mailserver
from tests.integration.test_improvement import NOW, WEEK, _make

CPH = ZoneInfo("Europe/Copenhagen")
ROOT = Path(__file__).resolve().parents[2]


def _config(db_url: str, smtp_port: int) -> Settings:
    return settings.load(
        ROOT / "config" / "contactd.toml",
        environ={
            "CONTACTD_DATABASE_URL": db_url,
            "CONTACTD_EMAIL__ADDRESS": "kontakt@nyidanmark.example",
            "CONTACTD_EMAIL__SMTP": (
                f'{{ host = "127.0.0.1", port = {smtp_port}, starttls = false, user = "contactd" }}'
            ),
            "CONTACTD_SMTP_PASSWORD": "smtp-secret",
            "CONTACTD_IMPROVEMENT__WEEKLY_TO": '["leder@example.org", "team@example.org"]',
            "CONTACTD_IMPROVEMENT__DAILY_TO": '["leder@example.org"]',
            "CONTACTD_IMPROVEMENT__SEND_AT": '"07:30"',
        },
    )


def _day(year: int, month: int, day: int) -> Period:
    return Period(date(year, month, day), date(year, month, day))


def test_the_periods_due_follow_send_at_on_the_daemons_clock() -> None:
    config = _config("postgresql://unused", 25)
    at = {  # local time -> the daily and the weekly period due
        datetime(2026, 11, 30, 7, 29, tzinfo=CPH): (_day(2026, 11, 28), "2026-W47"),
        datetime(2026, 11, 30, 7, 30, tzinfo=CPH): (_day(2026, 11, 29), "2026-W48"),
        datetime(2026, 12, 1, 6, 0, tzinfo=CPH): (_day(2026, 11, 29), "2026-W48"),
        datetime(2026, 12, 6, 23, 59, tzinfo=CPH): (_day(2026, 12, 5), "2026-W48"),
    }
    for now, (day, week) in at.items():
        due = dict(improvement_mail.due(now, config))
        assert (due["daily"], due["weekly"].label) == (day, week), now


async def test_a_week_is_mailed_once_as_a_multipart_mail_with_its_chart_and_figures(
    pool: asyncpg.Pool, db_url: str, smtp: tuple[mailserver.Smtp, int]
) -> None:
    received, port = smtp
    config = _config(db_url, port)
    await _make(pool, config)
    now = NOW.astimezone(CPH)  # Tuesday 1 December 10:00: W48 and 30 November are due

    # Two leaders' passes at once, then another later: each period is claimed once.
    first = await asyncio.gather(
        improvement_mail.mail_due(pool, config, now=now),
        improvement_mail.mail_due(pool, config, now=now),
    )
    again = await improvement_mail.mail_due(pool, config, now=now)
    assert sorted(first[0] + first[1]) == ["daily", "weekly"]
    assert again == []
    rows = await pool.fetch("SELECT kind, first_day, recipients FROM improvement_mailings")
    assert {(r["kind"], str(r["first_day"]), r["recipients"]) for r in rows} == {
        ("daily", "2026-11-30", 1),
        ("weekly", str(WEEK.first), 2),
    }
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE kind = 'email'") == 3

    async with senders(
        config.phone, config.email, twilio_auth_token=None, smtp_password="smtp-secret",
        public_url=None,
    ) as sending:  # fmt: skip
        await send_due(
            pool, sending, clock=FixedClock(now), recorder=NOT_RECORDED, batch=10,
            lease_seconds=60, max_attempts=3, backoff_seconds=1, max_backoff_seconds=1,
            concurrency=2,
        )  # fmt: skip
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0
    weekly = {m["To"]: m for m in received.messages if "Weekly" in m["Subject"]}
    assert sorted(weekly) == ["leder@example.org", "team@example.org"]
    mail = weekly["team@example.org"]
    assert mail["From"] == "kontakt@nyidanmark.example"
    assert mail["Subject"] == "Weekly improvement report 2026-W48"
    assert mail.get_content_type() == "multipart/mixed"
    body = mail.get_body(("plain",))
    assert body is not None
    assert "Improvement report 2026-W48 (2026-11-23 to 2026-11-29)" in body.get_content()
    files = {p.get_filename() or "": p for p in mail.iter_attachments()}
    assert sorted(files) == ["improvement-2026-W48.csv", "improvement-2026-W48.png"]
    assert files["improvement-2026-W48.png"].get_content().startswith(b"\x89PNG\r\n\x1a\n")
    table = list(csv.reader(io.StringIO(files["improvement-2026-W48.csv"].get_content())))
    assert table[0][:3] == ["section", "queue", "channel"]
    assert {r[0] for r in table[1:]} >= {"goal", "repeats", "comment"}
    daily = [m for m in received.messages if "Daily" in m["Subject"]]
    assert [m["Subject"] for m in daily] == ["Daily improvement report 2026-11-30"]
    assert [p.get_filename() for p in daily[0].iter_attachments()] == ["improvement-2026-11-30.png"]
