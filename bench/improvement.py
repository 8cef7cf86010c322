"""The improvement report (issue 22): how long a supervisor waits for it, and the weekly mail
takes to make, over a year of the agency's contacts.

    .venv/bin/python -m bench.improvement [--contacts 410000] [--requests 50] [--explain]

Starts the daemon on its embedded PostgreSQL and writes a year of finished contacts (by
default the shipped agency's year: 300,000 by phone, of which one in twenty a
booked callback, 50,000 e-mails and 60,000 tickets) on the working days of the 364 days
before today, in the opening hours of config/contactd.toml's calendars, of about a third as
many clients, in a few statements: the contacts table's own trigger keys each address, and a
quarter of the contacts come from the client of a contact a few working days before (failure
demand). Calls are abandoned now and then, callbacks not reached, tickets not shown; the case
types and queues are the configuration's, most answered contacts have a wrap-up code, about
one contact in ten a satisfaction answer (a third with a comment, some with a number or an
address in it to be masked), and some e-mails a case type the classifier gave and staff
corrected.

Then a supervisor asks `GET /api/improvement` (last week, JSON) once, and `--requests` times
more one at a time; the CSV and the chart (PNG) once each; a period of four weeks once. In
this process: the weekly mail of last week's report (leader/improvement_mail.py `mails`: the
text, the chart and the CSV) made from the report as `improvement.gather` reads it. With
`--explain`, or when the p99 is over its aim (1 s), EXPLAIN (ANALYZE, BUFFERS) of the
report's failure-demand query on last week goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import Daemon, store_connection
from bench.fixtures import history_parameters
from contactd import settings
from contactd.leader.improvement_mail import mails
from contactd.services import improvement
from contactd.services import statistics as figures
from contactd.services.improvement import Period
from contactd.store import queries
from contactd.store import staff as store_staff
from routing.contact import Channel

AIM_P99_MS = 1000
# How often each case type is the reason for a contact, of 100 (the configuration's case
# types; one missing here counts 0).
WEIGHTS = {
    "asylum": 6, "family": 20, "work": 12, "study": 8, "au_pair": 2, "permanent": 9, "eu": 5,
    "visa": 10, "extension": 8, "residence_card": 5, "lapse": 2, "appeal": 5, "general": 8,
}  # fmt: skip
WRAP_UPS = ["case_status"] * 8 + ["documents"] * 5 + ["requirements"] * 4 + ["complaint", "other"]
SCORES = [1] * 8 + [2] * 8 + [3] * 14 + [4] * 30 + [5] * 40  # of 100: a mean of about 3.9
COMMENTS = [
    "Lang ventetid i telefonen, men god hjælp til sidst.",
    "Sagsbehandleren var venlig og forklarede reglerne godt.",
    "Jeg ved stadig ikke, hvornår min sag er færdig.",
    "Ring venligst til mig på 20 12 34 56, jeg mangler et svar.",
    "Min e-mail er anna.jensen@example.dk, skriv gerne til mig.",
    "Jeg har sendt dokumenterne tre gange. CPR 010190-1234.",
    "Very helpful, thank you!",
    "I waited 40 minutes and nobody could answer my question about the visa.",
    "Hjemmesiden siger noget andet end rådgiveren.",
    "Sagsnummer 2024-123456, hvor langt er den?",
    "Svaret på min mail kom hurtigt. Tak.",
    "Ventetiden er for lang, og jeg blev stillet om to gange.",
]

# The year, in one statement. $1 now, $2 contacts, $3 clients, $4 the most contacts back a
# follow-up's earlier contact lies (about five working days); $5-$10 per weighted case type
# (1-100) and channel: its case type, queue, priority and due time (seconds); $11-$14 per
# working day (1-n) and channel: the opening and the seconds it is open; $15 the wrap-up codes,
# weighted. A contact's client is its own, or the client of a contact up to $4 before it (a
# quarter of them); its case type is its client's. Times never pass now.
CONTACTS = """
WITH raw AS (
    SELECT g, random() AS r, random() AS r2, random() AS r3, random() AS r4, random() AS r5,
           CASE WHEN g % 41 < 30 THEN CASE WHEN (g / 41) % 20 = 0 THEN 'callback' ELSE 'call' END
                WHEN g % 41 < 35 THEN 'email' ELSE 'ticket' END AS channel,
           1 + ((g - 1)::bigint * (SELECT max(d) FROM unnest($11::int[]) d) / $2)::int AS day,
           CASE WHEN random() < 0.25 THEN greatest(1, g - 1 - floor(random() * $4::int)::int)
                ELSE g END AS whose
    FROM generate_series(1, $2) g
), params AS (
    SELECT * FROM unnest($5::int[], $6::text[], $7::text[], $8::text[], $9::int[], $10::float8[])
        AS p (k, channel, case_type, queue, priority, due_seconds)
), hours AS (
    SELECT * FROM unnest($11::int[], $12::text[], $13::timestamptz[], $14::float8[])
        AS h (day, channel, opens, open_seconds)
), timed AS (
    SELECT raw.*, p.case_type, p.queue, p.priority, p.due_seconds,
           (raw.whose * 2654435761) % 4294967296 % $3 AS client,
           h.opens + make_interval(secs => h.open_seconds * raw.r3) AS created
    FROM raw
    JOIN params p ON p.k = 1 + (raw.whose::bigint * 40503) % 65521 % 100 AND p.channel = raw.channel
    JOIN hours h ON h.day = raw.day AND h.channel = raw.channel
), ended AS (
    SELECT t.*, c.*
    FROM timed t, LATERAL (
        SELECT CASE WHEN t.channel = 'call' AND t.r < 0.08 THEN 'abandoned' ELSE 'done' END
                   AS state,
               CASE WHEN t.channel = 'callback' THEN t.created + interval '1 hour' END
                   AS not_before,
               -- the wait: calls mostly short, callbacks within their window mostly, tickets
               -- up to 40 minutes, e-mails up to 4 days (never past now)
               CASE t.channel
                   WHEN 'call' THEN make_interval(secs => 600 * t.r2 * t.r2)
                   WHEN 'callback' THEN interval '1 hour' + make_interval(secs => 3 * 3600 * t.r2)
                   WHEN 'ticket' THEN make_interval(secs => 2400 * t.r2)
                   ELSE make_interval(secs => least(
                       4 * 86400 * t.r2 * t.r2,
                       0.5 * extract(epoch FROM $1::timestamptz - t.created)))
               END AS waited,
               CASE t.channel
                   WHEN 'email' THEN make_interval(secs => 600 + 1800 * t.r4)
                   WHEN 'ticket' THEN make_interval(secs => 240 + 720 * t.r4)
                   ELSE make_interval(secs => 60 + 540 * t.r4) END AS handled,
               CASE WHEN t.channel = 'call' AND t.r < 0.08 THEN 'abandoned'
                    WHEN t.channel = 'callback' AND t.r < 0.10 THEN 'not_reached'
                    WHEN t.channel = 'ticket' AND t.r < 0.04 THEN 'no_show'
                    ELSE 'resolved' END AS outcome
    ) c
), shaped AS (
    SELECT *,
           CASE WHEN state = 'done' THEN created + waited END AS answered_at,
           CASE WHEN state = 'abandoned' THEN created + waited * r4
                WHEN outcome IN ('no_show', 'not_reached')
                THEN created + waited + interval '2 minutes'
                ELSE created + waited + handled END AS closed_at
    FROM ended
)
INSERT INTO contacts (reference, channel, case_type, case_type_source, confidence, language,
                      queue, priority, state, created_at, state_changed_at, queued_at, due_at,
                      answered_at, closed_at, first_response_at, not_before, client_address,
                      attempts, outcome, wrap_up)
SELECT 'I' || g, channel, case_type,
       CASE channel WHEN 'email' THEN CASE WHEN r5 < 0.08 THEN 'staff' ELSE 'classifier' END
                    WHEN 'ticket' THEN 'staff' ELSE 'ivr' END,
       CASE WHEN channel = 'email' AND r5 >= 0.08 THEN 0.55 + 0.45 * r4 END,
       CASE WHEN g % 5 = 0 THEN 'en' ELSE 'da' END,
       queue, priority, state, created, closed_at, created,
       coalesce(not_before, created) + make_interval(secs => due_seconds),
       answered_at, closed_at,
       CASE WHEN channel = 'email' THEN answered_at + handled * 0.8 END,
       not_before,
       CASE WHEN channel = 'email' THEN 'client' || client || '@example.dk'
            WHEN channel = 'ticket' AND r4 < 0.3 THEN NULL  -- no phone given at the kiosk
            ELSE '+452' || lpad(client::text, 7, '0') END,
       CASE WHEN state = 'done' THEN 1 ELSE 0 END, outcome,
       CASE WHEN outcome = 'resolved' AND r5 < 0.6
            THEN ($15::text[])[1 + floor(r2 * array_length($15::text[], 1))::int] END
FROM shaped
"""

# Satisfaction: about one contact in ten, of those resolved with an address, answered (by
# now); a third with a comment. $1 now, $2 scores (weighted), $3 comments.
CSAT = """
INSERT INTO csat (contact_id, queue, channel, asked_at, via, expires_at, score, comment,
                  answered_at)
SELECT id, queue, channel, asked, CASE channel WHEN 'email' THEN 'email' ELSE 'sms' END,
       asked + interval '14 days',
       ($2::int[])[1 + floor(random() * array_length($2::int[], 1))::int],
       CASE WHEN random() < 1.0 / 3
            THEN ($3::text[])[1 + floor(random() * array_length($3::text[], 1))::int] END,
       answered
FROM (SELECT id, queue, channel, closed_at + interval '5 minutes' AS asked,
             closed_at + interval '5 minutes' + make_interval(secs => 2 * 86400 * random() ^ 3)
                 AS answered
      FROM contacts
      WHERE state = 'done' AND outcome = 'resolved' AND client_address IS NOT NULL
        AND random() < 0.11) s
WHERE answered <= $1
"""

# The e-mails staff sorted anew after the classifier: what it had said (another case type,
# drawn from the contact's id) and what they made it. $1 the case types.
CORRECTIONS = """
INSERT INTO case_type_corrections (contact_id, from_type, from_source, confidence, to_type,
                                   actor, corrected_at)
SELECT id, ($1::text[])[1 + (array_position($1::text[], case_type) + id::int % (n - 1)) % n],
       'classifier', 0.4 + 0.4 * random(), case_type, 'agent' || (1 + id % 40), answered_at
FROM contacts, LATERAL (SELECT array_length($1::text[], 1) AS n) k
WHERE channel = 'email' AND case_type_source = 'staff'
"""


def hours(config: settings.Settings, today: date) -> tuple[list[Any], ...]:
    """Per working day of the phone line in the 364 days before today, numbered from 1, and
    channel: when it opens, and for how many seconds (the first queue's calendars)."""
    phone = config.calendars[config.phone.calendar]
    queue = config.queues[0]
    days = [today - timedelta(days=n) for n in range(364, 0, -1)]
    numbers, channels, opens, lengths = [], [], [], []
    for number, day in enumerate([d for d in days if phone.is_working_day(d)], 1):
        for channel in Channel:
            open_on = queue.calendar_for(channel).intervals_on(day)
            if not open_on:  # another calendar closed that day: the phone line's hours
                open_on = phone.intervals_on(day)
            start, end = open_on[0][0], open_on[-1][1]
            numbers.append(number)
            channels.append(str(channel))
            opens.append(start)
            lengths.append((end - start).total_seconds())
    return numbers, channels, opens, lengths


def case_types(config: settings.Settings) -> tuple[list[Any], ...]:
    """Per weighted case type (1-100) and channel: case type, queue, priority, due seconds."""
    weighted = [kind for kind in config.case_types for _ in range(WEIGHTS.get(kind, 0))]
    assert len(weighted) == 100, "bench.improvement: WEIGHTS must add up to 100"
    ks, channels, kinds, codes, priorities, due = [], [], [], [], [], []
    for channel in Channel:
        kind_list, code_list, priority_list, due_list = history_parameters(config, channel)
        at = {kind: i for i, kind in enumerate(kind_list)}
        for k, kind in enumerate(weighted, 1):
            ks.append(k)
            channels.append(str(channel))
            kinds.append(kind)
            codes.append(code_list[at[kind]])
            priorities.append(priority_list[at[kind]])
            due.append(due_list[at[kind]])
    return ks, channels, kinds, codes, priorities, due


async def fill(data: Path, config: settings.Settings, contacts: int) -> tuple[str, dict[str, Any]]:
    """The year, and a supervisor's token; what was written and how long it took."""
    conn = await store_connection(data)
    now = datetime.now(UTC)
    today = now.astimezone(config.timezone).date()
    day_hours = hours(config, today)
    working_days = max(day_hours[0])
    follow_back = max(1, contacts * 5 // working_days)  # about five working days of contacts
    took: dict[str, float] = {}
    try:
        await conn.execute("SELECT setseed(0.22)")
        started = time.perf_counter()
        await conn.execute(
            CONTACTS, now, contacts, max(1, contacts // 3), follow_back,
            *case_types(config), *day_hours, WRAP_UPS,
        )  # fmt: skip
        took["contacts_s"] = time.perf_counter() - started
        started = time.perf_counter()
        await conn.execute(CSAT, now, SCORES, COMMENTS)
        took["csat_s"] = time.perf_counter() - started
        started = time.perf_counter()
        await conn.execute(CORRECTIONS, list(config.case_types))
        took["corrections_s"] = time.perf_counter() - started
        started = time.perf_counter()
        await conn.execute("VACUUM ANALYZE contacts, csat, case_type_corrections")
        took["vacuum_analyze_s"] = time.perf_counter() - started
        _, token = await store_staff.add(
            conn, login="sofie", name="Sofie", role=store_staff.Role.SUPERVISOR, now=now
        )
        written = {
            "contacts": {
                r["channel"]: r["n"]
                for r in await conn.fetch(
                    "SELECT channel, count(*) AS n FROM contacts GROUP BY 1 ORDER BY 1"
                )
            },
            "abandoned_calls": await conn.fetchval(
                "SELECT count(*) FROM contacts WHERE state = 'abandoned'"
            ),
            "clients": await conn.fetchval(
                "SELECT count(DISTINCT client_key) FROM contacts WHERE client_key IS NOT NULL"
            ),
            "with_wrap_up": await conn.fetchval(
                "SELECT count(*) FROM contacts WHERE wrap_up IS NOT NULL"
            ),
            "csat_answers": await conn.fetchval("SELECT count(*) FROM csat"),
            "csat_comments": await conn.fetchval(
                "SELECT count(*) FROM csat WHERE comment IS NOT NULL"
            ),
            "corrections": await conn.fetchval("SELECT count(*) FROM case_type_corrections"),
            "working_days": working_days,
            "contacts_table_with_indexes_mib": round(
                await conn.fetchval("SELECT pg_total_relation_size('contacts')") / 2**20, 1
            ),
            "seconds": {k: round(v, 1) for k, v in took.items()},
        }
        total = sum(took.values())
        print(f"[bench.improvement] {contacts:,} contacts in {total:.0f} s", file=sys.stderr)
        return token, written
    finally:
        await conn.close()


async def measure(url: str, token: str, today: date, requests: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    week = Period.week_of(today - timedelta(days=7))
    four_weeks = {"first": str(week.last - timedelta(days=27)), "last": str(week.last)}
    timed: list[float] = []
    async with aiohttp.ClientSession(headers=headers) as http:

        async def get(**params: str) -> tuple[float, bytes]:
            started = time.perf_counter()
            async with http.get(f"{url}/api/improvement", params=params) as response:
                body = await response.read()
                assert response.status == 200, body[:500]
            return (time.perf_counter() - started) * 1000, body

        first_ms, body = await get()
        for _ in range(requests):
            timed.append((await get())[0])
        csv_ms, csv = await get(format="csv")
        png_ms, png = await get(format="png")
        four_ms, four = await get(**four_weeks)
    report = json.loads(body)
    every = report["failure_demand"]
    return {
        "week": report["period"]["label"],
        "first_ms": round(first_ms, 1),
        "week_json_ms": _percentiles(timed),
        "week_json_kib": round(len(body) / 1024, 1),
        "week_csv_ms": round(csv_ms, 1),
        "week_csv_kib": round(len(csv) / 1024, 1),
        "week_png_ms": round(png_ms, 1),
        "week_png_kib": round(len(png) / 1024, 1),
        "four_weeks": f"{four_weeks['first']} to {four_weeks['last']}",
        "four_weeks_json_ms": round(four_ms, 1),
        "four_weeks_contacts": json.loads(four)["failure_demand"]["contacts"],
        "week_report": {
            "contacts": every["contacts"],
            "failure_demand": round(every["failure_demand"] or 0, 3),
            "first_contact_resolution": round(every["first_contact_resolution"] or 0, 3),
            "comments": len(report["comments"]),
            "satisfaction_answers": sum(s["answers"] for s in report["satisfaction"]),
            "callbacks_not_reached": sum(c["not_reached"] for c in report["callbacks"]),
            "corrections": sum(c["contacts"] for c in report["corrections"]),
            "classified": report["classified"],
        },
    }


async def in_process(data: Path, config: settings.Settings, explain: bool) -> dict[str, Any]:
    """Last week's report as the leader gathers it, its weekly mail, and EXPLAIN if asked."""
    now = datetime.now(UTC)
    week = Period.week_of(now.astimezone(config.timezone).date() - timedelta(days=7))
    conn = await store_connection(data)
    try:
        started = time.perf_counter()
        report = await improvement.gather(
            conn, config.queues, config.timezone, week, now=now,
            follow_up_days=config.improvement.follow_up_days, csat_goal=config.csat.goal,
            region=config.phone.region,
        )  # fmt: skip
        gather_ms = (time.perf_counter() - started) * 1000
        plan = ""
        if explain:
            start = figures.local_midnight(week.first, config.timezone)
            end = figures.local_midnight(week.last + timedelta(days=1), config.timezone)
            rows = await conn.fetch(
                f"EXPLAIN (ANALYZE, BUFFERS) {queries.get('improvement_repeats')}",
                start, end, config.improvement.follow_up_days, now,
            )  # fmt: skip
            plan = "\n".join(r[0] for r in rows)
    finally:
        await conn.close()
    mail_ms = []
    for _ in range(3):  # the first imports matplotlib, as a leader's first mail does
        started = time.perf_counter()
        items = mails(report, "weekly", ["a@example.org"], sender="kontakt@example.org")
        mail_ms.append((time.perf_counter() - started) * 1000)
    return {
        "gather_ms": round(gather_ms, 1),
        "weekly_mail_ms": {
            "first": round(mail_ms[0], 1),
            "again": round(statistics.median(mail_ms[1:]), 1),
        },
        "weekly_mail_kib": round(len(json.dumps(items[0].payload)) / 1024, 1),
        "plan": plan,
    }


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 1),
        "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1),
        "max": round(ordered[-1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=410_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--explain", action="store_true", help="EXPLAIN the failure demand")
    args = parser.parse_args()
    config = settings.load(environ={})
    data = Path(tempfile.mkdtemp(prefix="contactd-bench-"))
    daemon = Daemon(data, env={"CONTACTD_CLASSIFIER__ENABLED": "false"})
    daemon.wait_ready()
    try:
        token, written = asyncio.run(fill(data, config, args.contacts))
        today = datetime.now(UTC).astimezone(config.timezone).date()
        result = asyncio.run(measure(daemon.url, token, today, args.requests))
        over = result["week_json_ms"]["p99"] > AIM_P99_MS
        local = asyncio.run(in_process(data, config, args.explain or over))
    finally:
        daemon.stop()
        shutil.rmtree(data, ignore_errors=True)
    plan = local.pop("plan")
    if plan:
        print(f"\n--- EXPLAIN (ANALYZE, BUFFERS) improvement_repeats\n{plan}\n", file=sys.stderr)
    print(
        json.dumps(
            {"contacts": args.contacts, "requests": args.requests, "written": written,
             **result, **local, "explained": bool(plan)},
            indent=2,
        )
    )  # fmt: skip


if __name__ == "__main__":
    main()
