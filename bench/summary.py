"""The headline figures of every benchmark, and the report `python -m bench` writes.

BENCHES is the one table to edit: per benchmark, the arguments of a quick run, what it needs
on the machine, and which numbers of its JSON are its figures (with their unit and aim, and
the pgbench rate and ratio where the same statements were run through pgbench). A benchmark
listed in bench/README.md but not here is still run; its numbers are listed as they come.

A figure's `path` names a number in the benchmark's JSON: keys joined by dots, where a key
may be a glob (`wait_with_*_queued`: the key carries an argument) and a list is entered at
the element whose field has a value (`runs[classifier=off]`). An aim is an operator and a
number, or the path of another number of the same output (`== board_held.screens`).
"""

from __future__ import annotations

import fnmatch
import json
import operator
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Value = float | int | bool


@dataclass(frozen=True, kw_only=True)
class Figure:
    path: str
    label: str
    unit: str = ""
    aim: str | None = None  # ">= 1000", "< 50", "== true", "== board_held.screens"
    pgbench: str | None = None  # the same statements' rate through pgbench
    ratio: str | None = None  # this rate / pgbench's
    ratio_aim: str | None = None


@dataclass(frozen=True, kw_only=True)
class Bench:
    quick: tuple[str, ...] = ()  # arguments of a short smoke run
    needs: tuple[str, ...] = ()  # programs checked before running: see __main__.NEEDS
    figures: tuple[Figure, ...] = ()


def _f(path: str, label: str, unit: str = "", aim: str | None = None, **more: Any) -> Figure:
    return Figure(path=path, label=label, unit=unit, aim=aim, **more)


# fmt: off
# (kept a figure to a line or two, so that the table reads as one)
BENCHES: dict[str, Bench] = {
    "intake": Bench(
        quick=("--seconds", "5"),
        needs=("wrk",),
        figures=(
            _f("http_contacts_per_second", "intake over HTTP, POST /api/contacts", "contacts/s",
               ">= 1000", pgbench="pgbench_contacts_per_second",
               ratio="ratio_http_to_pgbench", ratio_aim=">= 0.5"),
            _f("http_latency_p50_ms", "intake latency p50", "ms"),
            _f("http_latency_p99_ms", "intake latency p99", "ms"),
        ),
    ),
    "engine": Bench(
        quick=("--repeat", "5"),
        figures=(
            _f("all_agents_free.median_ms", "engine pass, 10,000 contacts, 1,000 agents all free",
               "ms", "< 20"),
            _f("one_agent_in_ten_free.median_ms", "engine pass, one agent in ten free", "ms",
               "< 20"),
        ),
    ),
    "routing": Bench(
        # `contactd staff add` once per agent is most of its time: fewer agents.
        quick=("--agents", "25", "--backlog", "1000", "--seconds", "3"),
        figures=(
            _f("offers_per_second", "offers made, agents freed before a backlog", "offers/s",
               ">= 1000"),
            _f("intake_to_offer_p50_ms", "intake to offer p50", "ms"),
            _f("intake_to_offer_p99_ms", "intake to offer p99", "ms", "< 100"),
        ),
    ),
    "startup": Bench(
        quick=("--runs", "1"),
        figures=(
            _f("ready_fresh_data_dir_s.median", "ready, fresh data dir (initdb + migrate)", "s",
               "< 5"),
            _f("ready_existing_data_dir_s.median", "ready, existing data dir", "s", "< 5"),
            _f("classifier_ready_fresh_s (trained).median", "model ready, fresh data dir (trained)",
               "s"),
            _f("classifier_ready_existing_s (loaded).median",
               "model ready, existing data dir (loaded)", "s"),
            _f("daemon_idle_rss_mib", "daemon RSS, idle", "MiB"),
            _f("embedded_postgres_idle_pss_mib", "embedded PostgreSQL PSS, idle", "MiB"),
        ),
    ),
    "webhooks": Bench(
        quick=("--seconds", "3"),
        needs=("wrk",),
        figures=(
            _f("voice_new_call.requests_per_s", "/twilio/voice, new call", "requests/s", ">= 1000"),
            _f("voice_new_call.p99_ms", "/twilio/voice p99", "ms", "< 50"),
            _f("wait_with_*_queued.requests_per_s", "/twilio/wait, others queued (200 by default)",
               "requests/s"),
            _f("wait_with_*_queued.p99_ms", "/twilio/wait p99", "ms"),
        ),
    ),
    "outbox": Bench(
        quick=("--messages", "500"),
        needs=("prism",),
        figures=(
            _f("sends_per_s", "outbox SMS sends to Prism (Prism's ceiling)", "sends/s"),
            _f("retried", "sends retried", "", "== 0"),
        ),
    ),
    "classifier": Bench(
        quick=("--repeat", "1"),
        figures=(
            _f("macro_f1", "classifier macro-F1, test split", "", ">= 0.90"),
            _f("accuracy", "classifier accuracy, test split"),
            _f("batch_texts_per_s_one_core", "classified, batches of 256, one core", "texts/s",
               ">= 2000"),
            _f("single_ms.p99", "one text at a time p99", "ms", "< 5"),
            _f("train_s", "training from the corpus", "s"),
            _f("load_s", "model load", "s"),
            _f("model_file_mib", "model file", "MiB"),
            _f("daemon_idle_rss_mib.added", "daemon idle RSS added by the classifier", "MiB"),
            _f("independent.macro_f1", "classifier macro-F1, raw guess, independent set", "",
               ">= 0.93"),
            _f("independent.accuracy", "classifier accuracy, raw guess, independent set"),
            _f("independent.language.da.macro_f1", "macro-F1, independent set, Danish"),
            _f("independent.language.en.macro_f1", "macro-F1, independent set, English"),
            _f("independent.language_gap_macro_f1", "macro-F1 gap Danish-English, independent set",
               "", "<= 0.03"),
            _f("independent.sent_to_triage", "sent to triage, independent set"),
            _f("independent.routed_accuracy", "routed (not triaged) and right, independent set",
               "", ">= 0.97"),
            _f("independent.top3_accuracy", "right case type in the top 3, independent set"),
            _f("test_split.sent_to_triage", "sent to triage, test split"),
            _f("test_split.routed_accuracy", "routed (not triaged) and right, test split", "",
               ">= 0.97"),
        ),
    ),
    "email": Bench(
        quick=("--messages", "1000", "--acks", "30", "--big", "5000000"),
        needs=("dovecot",),
        figures=(
            _f("ingest.runs[classifier=off].messages_per_s", "e-mail ingest, classifier off",
               "messages/s", ">= 200"),
            _f("ingest.runs[classifier=on].messages_per_s", "e-mail ingest, classifier on",
               "messages/s", ">= 200"),
            _f("append_to_acknowledgement.runs[classifier=off].append_to_ack_ms.p50",
               "APPEND to acknowledgement p50, classifier off", "ms"),
            _f("append_to_acknowledgement.runs[classifier=off].append_to_ack_ms.p99",
               "APPEND to acknowledgement p99, classifier off", "ms"),
            _f("append_to_acknowledgement.runs[classifier=off].contact_created_to_ack_ms.p50",
               "of which contactd: contact to acknowledgement p50", "ms"),
            _f("append_to_acknowledgement.runs[classifier=off].dovecot_idle_push_ms.p50",
               "of which Dovecot: APPEND to IDLE push p50", "ms"),
            _f("memory.attachment_bytes", "memory part: attachment size", "bytes"),
            _f("memory.rss.peak_minus_before_mib", "RSS added reading that message", "MiB"),
        ),
    ),
    "console": Bench(
        quick=("--changes", "20"),
        figures=(
            _f("change_to_screen_ms.p50", "console: agent change to every supervisor's grid p50",
               "ms"),
            _f("change_to_screen_ms.p99", "console: agent change to every supervisor's grid p99",
               "ms", "<= 1000"),
            _f("missed", "console: changes a stream never showed", "", "== 0"),
        ),
    ),
    "history": Bench(
        quick=("--contacts", "100000", "--requests", "50"),
        figures=(
            _f("history_ms.p50", "a client's history (200 earlier contacts) p50", "ms"),
            _f("history_ms.p99", "a client's history (200 earlier contacts) p99", "ms", "<= 50"),
            _f("search_ms.p99", "search by a number as people write it p99", "ms"),
            _f("earlier_shown", "earlier contacts shown", "", "== earlier"),
        ),
    ),
    "booking": Bench(
        quick=("--attempts", "1000", "--addresses", "100"),
        figures=(
            _f("sms_abroad", "hostile booking flood: SMS to numbers abroad", "", "== 0"),
            _f("sms_home", "hostile booking flood: SMS at home", "", "<= sms_cap_per_hour"),
            _f("real_bookings_taken", "real Danish bookings taken after the flood", "",
               "== real_bookings"),
            _f("attempts_per_s", "booking attempts answered", "attempts/s"),
        ),
    ),
    "tickets": Bench(
        quick=("--seconds", "5", "--recalls", "50", "--held", "200", "--updates", "5"),
        needs=("wrk",),
        figures=(
            _f("issue.tickets_per_s", "tickets issued, POST /api/tickets, every queue",
               "tickets/s", ">= 500", pgbench="issue.pgbench_tickets_per_s",
               ratio="issue.ratio_http_to_pgbench"),
            _f("issue.p99_ms", "ticket issue p99", "ms"),
            _f("board_latency.response_to_screen_ms.p50", "board, call to screen p50", "ms"),
            _f("board_latency.response_to_screen_ms.p99", "board, call to screen p99", "ms"),
            _f("board_held.screens_with_every_update", "board streams that got every update",
               "", "== board_held.screens"),
            _f("board_held.response_to_screen_ms.p99", "held streams, update to screen p99", "ms"),
            _f("board_held.daemon_rss_mib.per_screen_kib", "daemon RSS per board stream", "KiB"),
            _f("board_held.cpu_during_updates.daemon_cpu_percent_of_a_core",
               "daemon CPU with the streams, an update a second", "% of a core"),
        ),
    ),
    "metrics": Bench(
        quick=("--contacts", "100000", "--passes", "10", "--scrapes", "50"),
        # The aims are on the median, as bench.metrics judges its own pass (`aim_met`).
        figures=(
            _f("scrape.fresh_daemon.p50_ms", "GET /metrics, 50 queues, daemon just started, p50",
               "ms", "< 50"),
            _f("scrape.fresh_daemon.p99_ms", "GET /metrics, daemon just started, p99", "ms"),
            _f("scrape.full_day_counters.p50_ms",
               "GET /metrics, every label value counted, p50", "ms", "< 50"),
            _f("scrape.full_day_counters.p99_ms", "GET /metrics, every label value counted, p99",
           "ms"),
            _f("series.full_day_counters.measured", "series on /metrics, every label counted",
               "", "== series.full_day_counters.formula"),
            _f("statistics.snapshot.p50_ms", "statistics pass p50", "ms", "< 200"),
            _f("statistics.snapshot.p99_ms", "statistics pass p99", "ms"),
            _f("statistics.database.contacts_finished", "statistics pass: finished contacts",
               "contacts"),
        ),
    ),
    "whatif": Bench(
        quick=("--seeds", "3", "--days", "2", "--search-seeds", "2"),
        figures=(
            _f("play_day_s.median", "what-if: the shipped day played once, one core", "s", "< 2"),
            _f("play_week_s.median", "what-if: a week (5 working days) played once, one core",
               "s", "< 10"),
            _f("policies.goals_met.contactd", "what-if: goals met at equal staffing, contactd",
               "goals", ">= policies.goals_met.fifo"),
            _f("policies.goals_met.fifo", "what-if: goals met at equal staffing, FIFO", "goals"),
            _f("policies.goals_met.skills", "what-if: goals met at equal staffing, skills only",
               "goals"),
            _f("search.contactd.agent_hours", "what-if: agent-hours that meet every goal, contactd",
               "agent-hours"),
            _f("search.fifo.agent_hours", "what-if: agent-hours that meet every goal, FIFO",
               "agent-hours"),
            _f("search.erlang_c_agent_hours", "what-if: agent-hours by Erlang C, hour by hour",
               "agent-hours"),
            _f("console_s.default", "what-if in the console: 3 policies x 5 seeds, a day", "s"),
            _f("console_s.most", "what-if in the console: its most, 60 runs", "s"),
        ),
    ),
    "improvement": Bench(
        quick=("--contacts", "100000", "--requests", "20"),
        figures=(
            _f("week_json_ms.p50", "improvement report, last week (JSON), a year's contacts, p50",
               "ms"),
            _f("week_json_ms.p99", "improvement report, last week (JSON) p99", "ms", "<= 1000"),
            _f("week_csv_ms", "improvement report, last week as CSV", "ms"),
            _f("week_png_ms", "improvement report, last week's chart (PNG), the daemon's first",
               "ms"),
            _f("four_weeks_json_ms", "improvement report, four weeks (JSON)", "ms"),
            _f("weekly_mail_ms.first", "weekly improvement mail made (text, chart, CSV), first",
               "ms"),
            _f("weekly_mail_ms.again", "weekly improvement mail made, again", "ms"),
        ),
    ),
    "soak": Bench(
        quick=("--minutes", "2"),
        figures=(
            _f("contacts_stored", "soak: contacts stored, of those acknowledged", "",
               ">= contacts_acknowledged"),
            _f("rss_mib.start", "soak: daemon RSS at the start", "MiB"),
            _f("rss_mib.after_warm_up", "soak: daemon RSS after the first minute", "MiB"),
            _f("rss_mib.end", "soak: daemon RSS at the end", "MiB"),
            _f("rss_mib.slope_per_hour", "soak: daemon RSS slope", "MiB/h"),
            _f("fds.max", "soak: daemon open files, max"),
            _f("pg_connections.max", "soak: PostgreSQL connections, max"),
            _f("pg_pss_mib.slope_per_hour", "soak: PostgreSQL PSS slope", "MiB/h"),
        ),
    ),
}
# fmt: on

SHOWN_TAIL = 20  # lines of a crashed benchmark's stderr shown in the file

# A benchmark with no entry above: its numbers as they come, this many at most.
UNMAPPED_LIMIT = 20


# --- reading a benchmark's output --------------------------------------------------------


class Missing(LookupError):
    """A path that names nothing in the output: the benchmark's JSON has changed."""


SELECT = re.compile(r"^(?P<key>[^\[]+)\[(?P<field>[^=\]]+)=(?P<value>[^\]]*)\]$")


def resolve(output: Any, path: str) -> Any:
    here = output
    for part in path.split("."):
        found = SELECT.match(part)
        key = found["key"] if found else part
        here = _key(here, key, path)
        if found:
            if not isinstance(here, list):
                raise Missing(path)
            field_, wanted = found["field"], found["value"]
            matching = [e for e in here if isinstance(e, dict) and _same(e.get(field_), wanted)]
            if not matching:
                raise Missing(path)
            here = matching[0]
    return here


def _key(here: Any, key: str, path: str) -> Any:
    if not isinstance(here, dict):
        raise Missing(path)
    if key in here:
        return here[key]
    matches = sorted(k for k in here if fnmatch.fnmatchcase(k, key))
    if not matches:
        raise Missing(path)
    return here[matches[0]]


def _same(value: Any, text: str) -> bool:
    return json.dumps(value) == text or str(value) == text


def first_json(stdout: str) -> Any:
    """The JSON a benchmark prints; some print a table or a line after it."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"^[{\[]", stdout, re.MULTILINE):
        try:
            return decoder.raw_decode(stdout, match.start())[0]
        except json.JSONDecodeError:
            continue
    raise ValueError("no JSON on stdout")


# --- rows ---------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Row:
    bench: str
    key: str  # the figure's path: how --compare finds the same figure in an earlier run
    figure: str
    value: Value | None  # None: not in the output
    unit: str = ""
    aim: str = ""
    aim_met: bool | None = None
    pgbench: Value | None = None
    ratio: Value | None = None
    ratio_aim: str = ""
    ratio_aim_met: bool | None = None
    command: str = ""


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
}
SHOWN = {">=": "≥", ">": ">", "<=": "≤", "<": "<", "==": "="}


def judge(aim: str | None, value: Any, output: Any) -> tuple[str, bool | None]:
    """The aim as shown (its target resolved when it is a path), and whether it is met."""
    if not aim:
        return "", None
    op, _, target_text = aim.partition(" ")
    target: Any
    if target_text in ("true", "false"):
        target = target_text == "true"
    else:
        try:
            target = float(target_text)
        except ValueError:
            try:
                target = resolve(output, target_text)
            except Missing:
                return f"{SHOWN[op]} {target_text} (not in the output)", None
    shown = f"{SHOWN[op]} {number(target)}"
    if not isinstance(value, int | float):
        return shown, None
    return shown, bool(OPERATORS[op](value, target))


def _number_or_none(output: Any, path: str | None) -> Value | None:
    if path is None:
        return None
    try:
        found = resolve(output, path)
    except Missing:
        return None
    return found if isinstance(found, int | float) else None


def rows(name: str, output: Any, command: str) -> list[Row]:
    """The figures of one benchmark's output."""
    entry = BENCHES.get(name)
    if entry is None or not entry.figures:
        return unmapped_rows(name, output, command)
    out = []
    for figure in entry.figures:
        try:
            found = resolve(output, figure.path)
        except Missing:
            found = None
        value = found if isinstance(found, int | float) else None
        aim, met = judge(figure.aim, value, output)
        ratio = _number_or_none(output, figure.ratio)
        ratio_aim, ratio_met = judge(figure.ratio_aim, ratio, output)
        out.append(
            Row(
                bench=name,
                key=figure.path,
                figure=figure.label,
                value=value,
                unit=figure.unit,
                aim=aim,
                aim_met=met,
                pgbench=_number_or_none(output, figure.pgbench),
                ratio=ratio,
                ratio_aim=ratio_aim,
                ratio_aim_met=ratio_met,
                command=command,
            )
        )
    return out


def _leaves(value: Any, prefix: str = "") -> Iterator[tuple[str, Value]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _leaves(inner, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield prefix, value


def unmapped_rows(name: str, output: Any, command: str) -> list[Row]:
    """A benchmark not in BENCHES yet: its numbers, by their paths, with no aim."""
    return [
        Row(bench=name, key=path, figure=path, value=value, command=command)
        for path, value in list(_leaves(output))[:UNMAPPED_LIMIT]
    ]


# --- a run --------------------------------------------------------------------------------

Status = Literal["ok", "skipped", "crashed"]


@dataclass(kw_only=True)
class Outcome:
    """One benchmark run: its JSON when it finished, why not when it did not."""

    name: str
    command: str
    status: Status
    reason: str = ""
    seconds: float = 0.0
    output: Any = None
    stderr_tail: str = ""


@dataclass(kw_only=True)
class Report:
    machine: dict[str, str]
    note: str = ""
    outcomes: list[Outcome] = field(default_factory=list)
    previous: str = ""  # the file compared with, if any
    previous_values: dict[str, Value | None] = field(default_factory=dict)

    def rows(self) -> list[Row]:
        return [
            row
            for o in self.outcomes
            if o.status == "ok"
            for row in rows(o.name, o.output, o.command)
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "machine": self.machine,
            "note": self.note,
            "compared_with": self.previous or None,
            "benches": [asdict(o) for o in self.outcomes],
            "rows": [self._row_json(r) for r in self.rows()],
        }

    def _row_json(self, row: Row) -> dict[str, Any]:
        saved = asdict(row)
        if self.previous:
            saved["previous"] = self.previous_values.get(row_id(row.bench, row.key))
        return saved


def exit_code(outcomes: Sequence[Outcome]) -> int:
    """Non-zero only when a benchmark crashed: a missed aim is in the table, not a failure."""
    return 1 if any(o.status == "crashed" for o in outcomes) else 0


def row_id(bench: str, key: str) -> str:
    return f"{bench}:{key}"


def previous_values(saved: Mapping[str, Any]) -> dict[str, Value | None]:
    """The figures of an earlier run's JSON, by bench and path."""
    return {row_id(r["bench"], r["key"]): r["value"] for r in saved.get("rows", [])}


# --- Markdown -----------------------------------------------------------------------------


def number(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    if isinstance(value, int | float):
        return f"{value:,}"
    return str(value)


def change(now: Value | None, before: Value | None) -> str:
    if before is None:
        return "—"
    if isinstance(before, bool) or isinstance(now, bool) or now is None:
        return number(before) if before == now else f"{number(before)} (changed)"
    if before == 0:
        return f"{number(before)} (±0 %)" if now == 0 else number(before)
    return f"{number(before)} ({100 * (now - before) / before:+.1f} %)"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _value(row: Row) -> str:
    if row.value is None:
        return "not in the output"
    text = f"{number(row.value)} {row.unit}".strip()
    return f"**{text}**" if row.aim_met is False else text


def _aim(shown: str, met: bool | None) -> str:
    if not shown:
        return ""
    return {True: f"{shown} ✓", False: f"{shown} ✗ **missed**", None: shown}[met]


def _pgbench(row: Row) -> str:
    if row.ratio is None and row.pgbench is None:
        return ""
    parts = [number(row.ratio) if row.ratio is not None else "?"]
    if row.pgbench is not None:
        parts.append(f"of {number(row.pgbench)}/s")
    text = " ".join(parts)
    if row.ratio_aim:
        text += f", aim {_aim(row.ratio_aim, row.ratio_aim_met)}"
    return text


def table(report: Report) -> str:
    """One line per figure, in the order run; a benchmark that did not finish has one line
    saying why."""
    header = ["bench", "figure", "value", "aim", "pgbench ratio", "command"]
    if report.previous:
        header.insert(3, "previous (change)")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for o in report.outcomes:
        if o.status != "ok":
            cells = [o.name, o.status, o.reason, "", "", f"`{o.command}`"]
            if report.previous:
                cells.insert(3, "")
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
            continue
        for row in rows(o.name, o.output, o.command):
            cells = [
                row.bench,
                row.figure,
                _value(row),
                _aim(row.aim, row.aim_met),
                _pgbench(row),
                f"`{row.command}`",
            ]
            if report.previous:
                before = report.previous_values.get(row_id(row.bench, row.key))
                cells.insert(3, change(row.value, before))
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def collapse(text: str) -> list[str]:
    """Lines that differ only in their numbers (one per client of pgbench, say) once each,
    with how many there were, so that the line that says what went wrong shows."""
    seen: dict[str, list[Any]] = {}
    for line in text.splitlines():
        entry = seen.setdefault(re.sub(r"\d+", "N", line), [line, 0])
        entry[1] += 1
    return [line if n == 1 else f"{line} (and {n - 1} more like it)" for line, n in seen.values()]


def markdown(report: Report) -> str:
    m = report.machine
    out = [f"# Benchmarks, {m.get('date', '')}, {m.get('git', '')}", ""]
    out += [f"- {key}: {value}" for key, value in m.items()]
    if report.note:
        out += ["", f"Note: {report.note}"]
    if report.previous:
        out += ["", f"Compared with {report.previous}: its value, and the change from it."]
    out += ["", table(report)]
    missed = [r for r in report.rows() if r.aim_met is False or r.ratio_aim_met is False]
    if missed:
        out += ["", "Aims missed: " + "; ".join(f"{r.bench}: {r.figure}" for r in missed) + "."]
    skipped = [o for o in report.outcomes if o.status == "skipped"]
    if skipped:
        out += ["", "## Skipped", ""]
        out += [f"- {o.name} (`{o.command}`): {o.reason}" for o in skipped]
    crashed = [o for o in report.outcomes if o.status == "crashed"]
    if crashed:
        out += ["", "## Crashed", ""]
        for o in crashed:
            out += [f"- {o.name} (`{o.command}`), after {o.seconds:.0f} s: {o.reason}"]
            if o.stderr_tail:
                out += [
                    "",
                    "  ```",
                    *(f"  {line}" for line in collapse(o.stderr_tail)[-SHOWN_TAIL:]),
                    "  ```",
                    "",
                ]
    times = ", ".join(f"{o.name} {o.seconds:.0f} s" for o in report.outcomes if o.seconds)
    if times:
        out += ["", f"Time taken: {times}."]
    return "\n".join(out).rstrip() + "\n"
