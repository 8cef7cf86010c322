"""`contactd report` on a real PostgreSQL: the figures of past days against the contacts they
were computed from.

Known events are written with controlled times (calls answered within and after the goal,
abandoned short, within and after it; callbacks reached in and out of their window; e-mails
answered in business time; tickets; satisfaction answers), and the report's CSV must give
what those events give, computed here from the events. Days are local days: a DST day of 23
or 25 hours counts each of its contacts once. The real command runs as a subprocess, with
the chart and with bad dates (exit 2, nothing written).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from contactd.cli import report_output
from contactd.clock import wall_clock
from contactd.services import report
from contactd.settings import Settings
from tests.conftest import WORKDAY
from tests.integration.command import contactd, contactd_read_by_no_one
from tests.integration.history import insert_contacts

CPH = ZoneInfo("Europe/Copenhagen")
DAY = date(2026, 11, 17)  # a Tuesday
S = timedelta(seconds=1)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def at(day: date, hour: int, minute: int = 0, *, fold: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CPH, fold=fold)


async def _contact(pool: asyncpg.Pool, **fields: Any) -> int:
    [contact_id] = await insert_contacts(pool, **fields)
    return contact_id


async def _csat(
    pool: asyncpg.Pool, contact_id: int, channel: str, score: int, when: datetime
) -> None:
    await pool.execute(
        """
        INSERT INTO csat (contact_id, queue, channel, asked_at, via, expires_at, score, answered_at)
        VALUES ($1, 'family', $2, $4::timestamptz - interval '1 hour', 'sms',
                $4::timestamptz + interval '1 day', $3, $4)
        """,
        contact_id, channel, score, when,
    )  # fmt: skip


# The events of DAY in the family queue. A call's goal is 5 minutes (variant 1, target 80 %),
# a ticket's 30 minutes (variant 3): config/contactd.toml.
CALL_GOAL, TICKET_GOAL = 300, 1800
CALLS_ANSWERED = [60, 60, 60, 600, 600]  # seconds waited
CALLS_ABANDONED = [3, 100, 500, 500]  # seconds before hanging up
TICKETS_ANSWERED = [600, 2400]
TICKETS_CLOSED = [3600]  # still waiting when the service centre closed
CALL_SCORES, EMAIL_SCORES = [5, 2], [4]
# E-mails: Friday 14:00 to Tuesday 09:00 is 1.5 + 8 + 1 = 10.5 office hours (08-16, Friday
# to 15:30); Monday 15:00 to Tuesday 10:00 is 1 + 2 = 3 office hours.
EMAILS = [
    (at(date(2026, 11, 13), 14), at(DAY, 9), 10.5 * 3600),
    (at(date(2026, 11, 16), 15), at(DAY, 10), 3 * 3600),
]


async def _the_day(pool: asyncpg.Pool) -> None:
    start = at(DAY, 10)
    answered_calls = []
    for wait in CALLS_ANSWERED:
        answered_calls.append(
            await _contact(
                pool, created=start, due=start + CALL_GOAL * S, answered=start + wait * S,
                closed=start + (wait + 240) * S, outcome="answered",
            )
        )  # fmt: skip
    for wait in CALLS_ABANDONED:
        await _contact(
            pool, created=start, due=start + CALL_GOAL * S, state="abandoned",
            closed=start + wait * S, outcome="abandoned",
        )  # fmt: skip
    for wait in TICKETS_ANSWERED:
        await _contact(
            pool, channel="ticket", created=start, due=start + TICKET_GOAL * S,
            answered=start + wait * S, closed=start + (wait + 600) * S, outcome="served",
        )  # fmt: skip
    for wait in TICKETS_CLOSED:
        await _contact(
            pool, channel="ticket", created=start, due=start + TICKET_GOAL * S,
            state="cancelled", closed=start + wait * S, outcome="closed",
        )  # fmt: skip
    # Callbacks booked the day before for 10:00-12:00: reached in the window, reached after
    # it, not reached (the attempts ran out at 11:00), and one still waiting past its window.
    booked, opens, closes = at(DAY - timedelta(days=1), 18), at(DAY, 10), at(DAY, 12)
    for answered, closed, outcome in (
        (at(DAY, 10, 30), at(DAY, 11), "answered"),
        (at(DAY, 12, 15), at(DAY, 12, 30), "answered"),
        (at(DAY, 10, 15), at(DAY, 11), "not_reached"),
    ):
        await _contact(
            pool, channel="callback", created=booked, due=closes, not_before=opens,
            answered=answered, closed=closed, outcome=outcome,
        )  # fmt: skip
    await _contact(
        pool, channel="callback", created=booked, due=closes, not_before=opens, state="queued"
    )
    emails = [
        await _contact(
            pool, channel="email", created=created, due=created + timedelta(days=7),
            state="active", answered=answered - 300 * S, first_response=answered,
        )
        for created, answered, _ in EMAILS
    ]  # fmt: skip
    for i, score in enumerate(CALL_SCORES):
        await _csat(pool, answered_calls[i], "call", score, at(DAY, 12 + i))
    for i, score in enumerate(EMAIL_SCORES):
        await _csat(pool, emails[i], "email", score, at(DAY, 14 + i))
    # The neighbouring days: a call just before midnight and one just after, and a
    # satisfaction answer on the next day about a call of DAY: none of them is DAY's.
    for when in (at(DAY - timedelta(days=1), 23, 50), at(DAY + timedelta(days=1), 0, 10)):
        await _contact(
            pool, created=when, due=when + CALL_GOAL * S, answered=when + 30 * S,
            closed=when + 120 * S, outcome="answered",
        )  # fmt: skip
    await _csat(pool, answered_calls[-1], "call", 1, at(DAY + timedelta(days=1), 9))


def _expected() -> dict[str, dict[str, str]]:
    """DAY's figures per channel, computed from the events above (kpi.md's definitions), in
    the CSV's form: ratios as decimals, waits in seconds."""
    calls_within = sum(w <= CALL_GOAL for w in CALLS_ANSWERED)
    short = sum(w < 5 for w in CALLS_ABANDONED)
    left_within = sum(5 <= w <= CALL_GOAL for w in CALLS_ABANDONED)
    calls_offered = len(CALLS_ANSWERED) + len(CALLS_ABANDONED)
    call_sl = (calls_within + short + left_within) / calls_offered  # variant 1
    tickets_within = sum(w <= TICKET_GOAL for w in TICKETS_ANSWERED)
    tickets_offered = len(TICKETS_ANSWERED) + len(TICKETS_CLOSED)
    # Callbacks: 4 due (their window ended on DAY), 2 reached, 1 of them inside it. Every
    # callback not reached broke its promise, whenever it was given up (kpi.md): the service
    # level is the compliance, reached in the window / due.
    return {
        "call": {
            "offered": str(calls_offered),
            "answered": str(len(CALLS_ANSWERED)),
            "answered_within_goal": str(calls_within),
            "abandoned": str(len(CALLS_ABANDONED)),
            "abandoned_short": str(short),
            "abandoned_within_goal": str(left_within),
            "abandoned_after_goal": str(len(CALLS_ABANDONED) - short - left_within),
            "threshold": "5 minutes",
            "sl_variant": "1",
            "service_level": str(round(call_sl, 6)),
            "target": "0.8",
            "met": "yes" if call_sl >= 0.8 else "no",
            "answer_rate": str(round(len(CALLS_ANSWERED) / calls_offered, 6)),
            "asa_seconds": str(round(sum(CALLS_ANSWERED) / len(CALLS_ANSWERED), 3)),
            "abandonment": str(round(len(CALLS_ABANDONED) / calls_offered, 6)),
            "callbacks_due": "",
            "email_first_response_business_seconds": "",
            "csat_answers": str(len(CALL_SCORES)),
            "csat_mean": str(round(sum(CALL_SCORES) / len(CALL_SCORES), 6)),
        },
        "ticket": {
            "offered": str(tickets_offered),
            "answered_within_goal": str(tickets_within),
            "sl_variant": "3",
            "service_level": str(round(tickets_within / tickets_offered, 6)),  # variant 3
            "met": "no",
            "asa_seconds": str(round(sum(TICKETS_ANSWERED) / len(TICKETS_ANSWERED), 3)),
            "csat_answers": "0",
            "csat_mean": "",
        },
        "callback": {
            "offered": "4",
            "answered": "2",
            "answered_within_goal": "1",
            "abandoned_within_goal": "0",
            "abandoned_after_goal": "2",
            "service_level": "0.25",
            "callbacks_due": "4",
            "callbacks_reached_in_window": "1",
            "callback_compliance": "0.25",
            "answer_rate": "0.25",
        },
        "email": {
            "answered": str(len(EMAILS)),
            "answered_within_goal": str(len(EMAILS)),
            "service_level": "1.0",
            "met": "yes",
            "email_first_response_business_seconds": str(
                round(sum(business for *_, business in EMAILS) / len(EMAILS), 3)
            ),
            "csat_answers": str(len(EMAIL_SCORES)),
            "csat_mean": str(round(sum(EMAIL_SCORES) / len(EMAIL_SCORES), 6)),
            "callbacks_due": "",
        },
    }


async def _run(db_url: str, *args: str) -> tuple[int, str, str]:
    return await contactd(db_url, "report", *args)


def _read_csv(path: Path) -> dict[tuple[str, str, str], dict[str, str]]:
    raw = path.read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n") > 1  # RFC 4180 line ends
    rows = list(csv.DictReader(io.StringIO(raw.decode(), newline="")))
    assert list(rows[0]) == list(report.CSV_COLUMNS)
    return {(r["date"], r["queue"], r["channel"]): r for r in rows}


def _assert_png(path: Path) -> None:
    import matplotlib.image

    assert path.read_bytes()[:8] == PNG_SIGNATURE
    pixels = matplotlib.image.imread(path)
    height, width = pixels.shape[:2]
    assert width > 500
    assert height > 300


async def test_the_csv_gives_what_the_days_events_give(
    pool: asyncpg.Pool, db_url: str, config: Settings, tmp_path: Path
) -> None:
    await _the_day(pool)
    out_csv, out_png = tmp_path / "report.csv", tmp_path / "report.png"
    status, out, err = await _run(
        db_url, "--from", "2026-11-16", "--to", "2026-11-18", "--csv", str(out_csv),
        "--png", str(out_png),
    )  # fmt: skip
    assert status == 0, err
    rows = _read_csv(out_csv)
    configured = sum(len(q.channels) for q in config.queues)
    assert len(rows) == 3 * configured  # every day, queue and channel, quiet ones too
    for channel, figures in _expected().items():
        row = rows[DAY.isoformat(), "family", channel]
        assert {k: row[k] for k in figures} == figures, channel
        assert row["hours"] == "24.0"
    # The neighbouring days have their own call each, and nothing of DAY's.
    for day in ("2026-11-16", "2026-11-18"):
        row = rows[day, "family", "call"]
        assert (row["answered"], row["abandoned"], row["service_level"]) == ("1", "0", "1.0")
        assert row["csat_answers"] == ("1" if day == "2026-11-18" else "0")
    # A queue with no traffic has counts but no figures: empty cells, never NaN or 0.
    quiet = rows[DAY.isoformat(), "visa", "call"]
    assert (quiet["offered"], quiet["csat_answers"]) == ("0", "0")
    for figure in ("service_level", "met", "answer_rate", "asa_seconds", "abandonment"):
        assert quiet[figure] == "", figure
    assert "nan" not in out_csv.read_text().lower()
    _assert_png(out_png)
    # The table: each day's heading, and the period's, with the variants named.
    assert "2026-11-17 Tuesday (Europe/Copenhagen, 24 hours)" in out
    # The period as a whole: the counts of the three days added up (DAY's calls and the
    # neighbours' two), and the figures computed again from the sums, not averaged.
    period = out[out.index("2026-11-16 to 2026-11-18, all 3 days") :].splitlines()
    family = next(
        line.split() for line in period if line.startswith("family ") and " call " in line
    )
    offered = len(CALLS_ANSWERED) + len(CALLS_ABANDONED) + 2
    within = sum(w <= CALL_GOAL for w in CALLS_ANSWERED) + 2
    credited = within + sum(w <= CALL_GOAL for w in CALLS_ABANDONED)  # variant 1
    scores = [*CALL_SCORES, 1]
    assert family[2:7] == [
        str(offered), str(len(CALLS_ANSWERED) + 2), str(within), str(len(CALLS_ABANDONED)),
        f"{credited / offered:.1%}",
    ]  # fmt: skip
    assert family[-2:] == [str(len(scores)), f"{sum(scores) / len(scores):.2f}"]
    assert "  1 = (answered + abandoned within goal) / (answered + abandoned)" in out
    assert "  3 = answered within goal / (answered + abandoned)" in out


async def test_a_day_prints_a_dash_for_a_queue_without_traffic_and_draws_bars(
    pool: asyncpg.Pool, config: Settings, tmp_path: Path
) -> None:
    await _the_day(pool)
    async with pool.acquire() as conn:
        days = await report.gather(conn, config.queues, config.timezone, DAY, DAY, WORKDAY)
    lines = list(report_output.table(days, config.timezone))
    visa = next(line.split() for line in lines if line.startswith("visa ") and " call " in line)
    # offered, answered, within goal, abandoned are 0; SL, met, answer rate, ASA, abandonment
    # and CSAT mean have no figure; the goal's variant and target are still shown.
    assert visa == ["visa", "call", "0", "0", "0", "0", "–", "1", "80.0%", "–", "–", "–", "–",
                    "0", "–"]  # fmt: skip
    family = next(line.split() for line in lines if line.startswith("family ") and " call " in line)
    assert family[2:4] == [
        str(len(CALLS_ANSWERED) + len(CALLS_ABANDONED)),
        str(len(CALLS_ANSWERED)),
    ]
    # The per-queue part: callbacks due and reached in their window, and e-mail response.
    per_queue = next(
        line.split() for line in lines if line.startswith("family ") and len(line.split()) == 6
    )
    assert per_queue == ["family", "4", "1", "25.0%", "2", "6:45:00"]  # (10.5 h + 3 h) / 2
    assert not any("nan" in line.lower() for line in lines)
    # One day is drawn as bars; it opens as a picture.
    report_output.draw(days, tmp_path / "day.png")
    _assert_png(tmp_path / "day.png")


@pytest.mark.parametrize(
    ("first", "last", "hours"),
    [(date(2026, 10, 25), date(2026, 10, 26), 25), (date(2026, 3, 29), date(2026, 3, 30), 23)],
)
async def test_a_dst_day_counts_each_of_its_contacts_once(
    pool: asyncpg.Pool, config: Settings, first: date, last: date, hours: int
) -> None:
    # Just after midnight, just before the next, and on 25 October the hour lived twice
    # (02:30 summer time, then 02:30 winter time): each is the DST day's, once.
    times = [at(first, 0, 30), at(first, 23, 30)]
    if hours == 25:
        times += [at(first, 2, 30, fold=0), at(first, 2, 30, fold=1)]
    assert len({t.astimezone(UTC) for t in times}) == len(times)
    for when in times:
        await _contact(
            pool, created=when, due=when + CALL_GOAL * S, answered=when + 30 * S,
            closed=when + 120 * S, outcome="answered",
        )  # fmt: skip
    async with pool.acquire() as conn:
        days = await report.gather(
            conn, config.queues, config.timezone, first - timedelta(days=1), last, WORKDAY
        )
    answered = [
        next(r.counts.answered for r in d.rows if (r.queue, r.channel) == ("family", "call"))
        for d in days
    ]
    assert answered == [0, len(times), 0]
    assert [d.hours for d in days] == [24, hours, 24]
    assert f"{first} {first:%A} (Europe/Copenhagen, {hours} hours: the clocks changed)" in list(
        report_output.table(days, config.timezone)
    )


def _command_today() -> date:
    """Today as `contactd report` sees it: it checks dates against the wall clock, not
    CONTACTD_CLOCK_START (contactd/cli/main.py, _report)."""
    return wall_clock().astimezone(CPH).date()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "in-two-days"], "is in the future (today is"),
        (["--date", "2026-02-30"], "--date '2026-02-30' is not a date; use YYYY-MM-DD"),
        (["--date", "17/11/2026"], "--date '17/11/2026' is not a date; use YYYY-MM-DD"),
        (["--date", "20261117"], "--date '20261117' is not a date; use YYYY-MM-DD"),
        (
            ["--from", "2026-11-18", "--to", "2026-11-16"],
            "--from 2026-11-18 is after --to 2026-11-16",
        ),
        (["--from", "2024-01-01", "--to", "2026-11-16"], "report at most 366 at a time"),
        (["--date", "2026-11-17", "--from", "2026-11-16"], "not both"),
        (["--from", "2026-11-16"], "give --date D, or both --from D1 and --to D2"),
    ],
)
async def test_bad_dates_exit_2_with_a_clear_message_and_write_nothing(
    db_url: str, tmp_path: Path, args: list[str], message: str
) -> None:
    future = (_command_today() + timedelta(days=2)).isoformat()  # still ahead at midnight
    args = [future if a == "in-two-days" else a for a in args]
    out_csv, out_png = tmp_path / "r.csv", tmp_path / "r.png"
    status, out, err = await _run(db_url, *args, "--csv", str(out_csv), "--png", str(out_png))
    assert status == 2
    assert err.startswith("contactd: ")
    assert message in err
    assert out == ""
    assert not out_csv.exists()
    assert not out_png.exists()


async def test_output_read_by_no_one_still_writes_the_files_and_exits_quietly(
    pool: asyncpg.Pool, db_url: str, tmp_path: Path
) -> None:
    # `contactd report ... | head`: the reader goes away; the files asked for are written.
    await _the_day(pool)
    out_csv, out_png = tmp_path / "r.csv", tmp_path / "r.png"
    status, err = await contactd_read_by_no_one(
        db_url, "report", "--date", DAY.isoformat(), "--csv", str(out_csv), "--png", str(out_png)
    )
    assert (status, err) == (0, "")
    assert _read_csv(out_csv)[DAY.isoformat(), "family", "call"]["offered"] != "0"
    _assert_png(out_png)
