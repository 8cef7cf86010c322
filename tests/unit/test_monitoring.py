"""The Prometheus rules, the Alertmanager configuration and the Grafana dashboards of docker/,
checked without a running daemon.

promtool (Debian's prometheus package) checks the config and the rules and runs their unit
tests; amtool (Debian's prometheus-alertmanager) checks the Alertmanager configuration and
where it routes each alert, and every alert's runbook link must name a section of
docs/how-to/alerts.md. Every PromQL expression of the rules and dashboards is then read by a
small parser here, which knows each metric's labels from the tables of
docs/reference/metrics.md (and each recording rule's from its expression): an unknown
metric, a label a metric does not have, in a selector, `by`, `on` or `group_left`, or two
sides of an operator that can never match, fails the test. No PromQL parser is packaged for
Python, so this one covers the PromQL these files use (selectors, ranges, aggregations, the
functions listed below, binary operators with their precedence and matching) and refuses
anything else rather than guess. Prometheus itself parses the same expressions in
tests/e2e/test_prometheus.py.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_docker_files import parse_yaml_subset, walk

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "docker" / "prometheus"
GRAFANA = ROOT / "docker" / "grafana"
RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*.yml"))
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
DATASOURCES = GRAFANA / "provisioning" / "datasources" / "prometheus.yml"
METRICS_DOC = ROOT / "docs" / "reference" / "metrics.md"
ALERTMANAGER_CONFIG = ROOT / "docker" / "alertmanager" / "alertmanager.yml"
ALERTS_DOC = ROOT / "docs" / "how-to" / "alerts.md"
# Where every alert's runbook_url points: alerts.md as published; an agency replaces the base.
RUNBOOK_BASE = "https://contactd.example.org/docs/how-to/alerts.md"
# The receiver each severity goes to.
RECEIVERS = {"critical": "email-critical", "warning": "email-warning"}

# Labels Prometheus adds to every scraped series (the scrape job and the instance's address),
# and the series it writes itself for every target.
TARGET_LABELS = frozenset({"instance", "job"})
SYNTHETIC = {"up": TARGET_LABELS}
# Grafana's variables, replaced by values of the right kind before parsing.
GRAFANA_VARIABLES = {
    "$__rate_interval": "1m",
    "$__interval": "15s",
    "$__range": "1h",
    "$queue": "family",
    "$channel": "call",
}


# --- promtool -----------------------------------------------------------------------------------


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    if tool is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is missing; scripts/bootstrap --dev installs prometheus")
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    return subprocess.run(
        [tool, *args], capture_output=True, text=True, timeout=60, check=False, cwd=ROOT
    )


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("amtool")
    if tool is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "amtool is missing; scripts/bootstrap --dev installs prometheus-alertmanager"
            )
        pytest.skip("amtool is not installed (apt-get install prometheus-alertmanager)")
    return subprocess.run(
        [tool, *args], capture_output=True, text=True, timeout=60, check=False, cwd=ROOT
    )


def test_promtool_accepts_the_config_and_finds_its_rule_files() -> None:
    # rule_files are relative to the config file, so the file is checked where it is.
    result = promtool("check", "config", str(PROMETHEUS / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(RULE_FILES)} rule files found" in result.stdout


def test_promtool_accepts_the_rules_and_counts_what_this_test_reads() -> None:
    result = promtool("check", "rules", *map(str, RULE_FILES))
    assert result.returncode == 0, result.stdout + result.stderr
    for path in RULE_FILES:
        count = sum(len(group["rules"]) for group in rule_groups(path))
        assert f"Checking {path}\n  SUCCESS: {count} rules found" in result.stdout, path


def test_the_rule_unit_tests_pass() -> None:
    assert RULE_TESTS
    result = promtool("test", "rules", *map(str, RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


# --- the rule files -----------------------------------------------------------------------------


def rule_groups(path: Path) -> list[dict[str, Any]]:
    groups = parse_yaml_subset(path.read_text(encoding="utf-8"))["groups"]
    assert isinstance(groups, list)
    return groups


def rules(kind: str) -> list[dict[str, Any]]:
    """Every rule of the rule files with a `kind` key (record or alert), in file order."""
    return [r for p in RULE_FILES for g in rule_groups(p) for r in g["rules"] if kind in r]


def rule_tests() -> list[dict[str, Any]]:
    found = []
    for path in RULE_TESTS:
        document = parse_yaml_subset(path.read_text(encoding="utf-8"))
        found += document["tests"]
    return found


def test_every_recording_rule_has_a_unit_test() -> None:
    tested = " ".join(
        case["expr"] for test in rule_tests() for case in test.get("promql_expr_test") or []
    )
    names = [rule["record"] for rule in rules("record")]
    assert names
    untested = [n for n in names if not re.search(rf"(?<![\w:]){re.escape(n)}(?![\w:])", tested)]
    assert not untested, f"no promql_expr_test reads {untested}"


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    cases = [case for test in rule_tests() for case in test.get("alert_rule_test") or []]
    for name in (rule["alert"] for rule in rules("alert")):
        outcomes = {bool(c.get("exp_alerts")) for c in cases if c["alertname"] == name}
        assert outcomes == {True, False}, f"{name}: tested firing and silent? {outcomes}"


def test_recording_rules_follow_the_naming_convention() -> None:
    for rule in rules("record"):
        assert re.fullmatch(r"contactd:[a-z_]+:[a-z0-9_]+", rule["record"]), rule["record"]


TEMPLATE = re.compile(r"\{\{(.*?)\}\}")
ALLOWED_TEMPLATE = re.compile(
    r" \$labels\.(?P<label>\w+) | \$value(?: \| humanize(?:Percentage|Duration)?)? "
)


def test_every_alert_has_a_severity_and_texts_that_name_only_its_labels() -> None:
    known = known_metrics()
    for rule in rules("alert"):
        name = rule["alert"]
        assert re.fullmatch(r"Contactd[A-Za-z0-9]+", name)
        assert rule["labels"]["severity"] in {"critical", "warning"}, name
        assert set(rule["annotations"]) >= {"summary", "description"}, name
        labels = check_expression(rule["expr"], known).labels or frozenset()
        labels |= set(rule["labels"])
        for text in rule["annotations"].values():
            for template in TEMPLATE.findall(text):
                # Only a label of the series or its value: never a query that could
                # pull a client's data into a notification.
                match = ALLOWED_TEMPLATE.fullmatch(template)
                assert match, f"{name}: {{{{{template}}}}} is not $labels.x or $value"
                if match["label"]:
                    assert match["label"] in labels, f"{name}: its series have no {match['label']}"
        assert labels <= {
            "queue",
            "channel",
            "connection",
            "kind",
            "mailbox",  # a configured mailbox's name, never an address
            "instance",
            "job",
            "severity",
        }, name


# --- Alertmanager and the runbooks ---------------------------------------------------------------


def test_amtool_accepts_the_alertmanager_config_and_its_templates() -> None:
    result = amtool("check-config", str(ALERTMANAGER_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert " - 1 templates\n  SUCCESS" in result.stdout, result.stdout


@pytest.mark.parametrize("rule", rules("alert"), ids=lambda r: r["alert"])
def test_every_alert_goes_to_the_receiver_of_its_severity(rule: dict[str, Any]) -> None:
    labels = {"alertname": rule["alert"], **rule["labels"]}
    result = amtool(
        "config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}",
        f"--verify.receivers={RECEIVERS[labels['severity']]}",
        *(f"{name}={value}" for name, value in labels.items()),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split() == [RECEIVERS[labels["severity"]]]


def test_an_alert_without_a_severity_goes_with_the_warnings() -> None:
    result = amtool(
        "config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}", "alertname=Other"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split() == [RECEIVERS["warning"]]


def alertmanager_config() -> dict[str, Any]:
    document = parse_yaml_subset(ALERTMANAGER_CONFIG.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def alertnames(matchers: list[str]) -> set[str]:
    """The alert names a list of matchers selects (`alertname="A"` or `alertname=~"A|B"`)."""
    [matcher] = [m for m in matchers if m.startswith("alertname")]
    match = re.fullmatch(r'alertname(=~?)"([\w|]+)"', matcher)
    assert match, f"write the alert names out: {matcher}"
    names = set(match[2].split("|"))
    assert match[1] == "=~" or len(names) == 1, matcher
    return names


def test_the_inhibit_rules_name_real_alerts_and_labels_they_share() -> None:
    known = known_metrics()
    labels = {}
    for rule in rules("alert"):
        found = check_expression(rule["expr"], known).labels or frozenset()
        labels[rule["alert"]] = found | set(rule["labels"])
    inhibit = alertmanager_config()["inhibit_rules"]
    assert inhibit
    for rule in inhibit:
        sources = alertnames(rule["source_matchers"])
        targets = alertnames(rule["target_matchers"])
        unknown = (sources | targets) - set(labels)
        assert not unknown, f"not an alert: {unknown}"
        assert not sources & targets, "an alert that inhibits itself"
        for name in sources | targets:
            missing = set(rule.get("equal") or []) - labels[name]
            assert not missing, f"{name} has no label {missing}: the rule never matches"


def test_the_mail_settings_are_placeholders_of_example_org() -> None:
    text = ALERTMANAGER_CONFIG.read_text(encoding="utf-8")
    config = alertmanager_config()
    secrets = [keys for keys, _ in walk(config) if keys[-1].endswith(("password", "secret"))]
    assert not secrets, f"no secret in git: {secrets}"
    host = config["global"]["smtp_smarthost"].rpartition(":")[0]
    addresses = re.findall(r"[\w.+-]+@([\w.-]+)", text)
    assert addresses
    for domain in [host, *addresses]:
        assert domain == "example.org" or domain.endswith(".example.org"), domain
    assert config["global"]["smtp_require_tls"] == "true", "STARTTLS unless the operator says not"


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: the link texts kept, lower case, anything
    but letters, digits, spaces, - and _ dropped, spaces made hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip())
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading's anchor in a Markdown file (outside code blocks), a repeated one with
    GitHub's -1, -2 ... after it."""
    found: set[str] = set()
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (heading := re.match(r"#{1,6} (.+)", line)):
            anchor = base = github_anchor(heading[1])
            count = 0
            while anchor in found:
                count += 1
                anchor = f"{base}-{count}"
            found.add(anchor)
    return found


def test_anchors_are_made_as_github_makes_them() -> None:
    assert github_anchor("Who may ask") == "who-may-ask"
    assert github_anchor("`[csat]`") == "csat"
    assert github_anchor("A second agency: a municipality's citizen service") == (
        "a-second-agency-a-municipalitys-citizen-service"
    )
    assert github_anchor("[Routes](x.md) by severity") == "routes-by-severity"
    assert github_anchor("ContactdNoLeader") == "contactdnoleader"


def test_every_alert_has_a_runbook_section_in_the_docs() -> None:
    sections = anchors(ALERTS_DOC)
    assert RUNBOOK_BASE in ALERTS_DOC.read_text(encoding="utf-8"), "say which base to replace"
    for rule in rules("alert"):
        url = rule["annotations"].get("runbook_url")
        assert url, f"{rule['alert']} has no runbook_url"
        base, _, anchor = url.partition("#")
        assert base == RUNBOOK_BASE, url
        assert anchor == github_anchor(rule["alert"]), f"{url}: its own section, by its name"
        assert anchor in sections, f"{url}: docs/how-to/alerts.md has no such heading"


# --- metrics.md ---------------------------------------------------------------------------------


def documented_metrics() -> dict[str, frozenset[str]]:
    """Every series name the metrics page's tables document, with its labels: a histogram's
    _bucket (with le), _sum and _count; the target labels on all."""
    found: dict[str, frozenset[str]] = {}
    columns: list[str] = []
    for line in METRICS_DOC.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            columns = []
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if "Name" in cells and "Labels" in cells:
            columns = cells
            continue
        if not columns or set(line) <= set("|-: "):
            continue
        row = dict(zip(columns, cells, strict=True))
        [name] = re.findall(r"`(contactd_\w+)`", row["Name"])
        labels = frozenset(re.findall(r"`(\w+)`", row["Labels"])) | TARGET_LABELS
        kind = row.get("Type", "gauge")
        assert kind in {"counter", "gauge", "histogram"}, f"{name}: type {kind!r}"
        assert name not in found, f"{name} is documented twice"
        if kind == "histogram":
            found[name + "_bucket"] = labels | {"le"}
            found[name + "_sum"] = found[name + "_count"] = labels
        else:
            assert (kind == "counter") == name.endswith("_total"), f"{name} is a {kind}"
            found[name] = labels
    return found


def known_metrics() -> dict[str, frozenset[str]]:
    """The documented series, Prometheus's own, and every recording rule with the labels
    its expression gives (rules may use the rules before them)."""
    known = {**documented_metrics(), **SYNTHETIC}
    for rule in rules("record"):
        info = check_expression(rule["expr"], known)
        assert info.labels is not None, f"{rule['record']} records a scalar"
        known[rule["record"]] = info.labels | set(rule.get("labels") or {})
    return known


def test_the_metrics_page_documents_the_metrics_the_rules_need() -> None:
    known = documented_metrics()
    assert len(known) > 30
    assert known["contactd_contacts_answered_total"] == {"queue", "channel", "wait"} | TARGET_LABELS
    assert "le" in known["contactd_wait_seconds_bucket"]
    assert known["contactd_leader"] == TARGET_LABELS


# --- a small PromQL reader ----------------------------------------------------------------------


class PromQLError(ValueError):
    """An expression this reader does not understand, or one that can never be right."""


@dataclasses.dataclass(frozen=True)
class Value:
    """What an expression gives: a vector with these labels (always there on every series),
    a scalar (labels None), or a string."""

    labels: frozenset[str] | None
    kind: str = "vector"


SCALAR = Value(None, "scalar")
STRING = Value(None, "string")
TOKEN = re.compile(
    r"""(?P<space>\s+|\#[^\n]*)
    |(?P<duration>\d+(?:ms|[smhdwy])(?:\d+(?:ms|[smhdwy]))*)(?![\w.])
    |(?P<number>(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)
    |(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    |(?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
    |(?P<op>==|!=|>=|<=|=~|!~|[-+*/%^<>=(){}\[\],:])""",
    re.VERBOSE,
)
PRECEDENCE = {
    "or": 1,
    "and": 2,
    "unless": 2,
    **dict.fromkeys(["==", "!=", "<=", "<", ">=", ">"], 3),
    "+": 4,
    "-": 4,
    "*": 5,
    "/": 5,
    "%": 5,
    "^": 6,
}
AGGREGATIONS = {"sum", "min", "max", "avg", "count", "group", "stddev", "stdvar"}
AGGREGATIONS_WITH_PARAMETER = {"topk", "bottomk", "quantile"}
# Functions that keep the labels of their vector argument.
KEEP_LABELS = {
    "rate", "irate", "increase", "delta", "idelta", "deriv", "changes", "resets",
    "abs", "ceil", "floor", "round", "sqrt", "exp", "ln", "clamp", "clamp_min", "clamp_max",
    "sort", "sort_desc", "predict_linear", "avg_over_time", "min_over_time",
    "max_over_time", "sum_over_time", "count_over_time", "last_over_time",
}  # fmt: skip


class Reader:
    """Reads one expression and infers the labels of what it gives, checking every label it
    names against `known` (series name -> labels)."""

    def __init__(self, text: str, known: dict[str, frozenset[str]]) -> None:
        self.known = known
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(text):
            match = TOKEN.match(text, position)
            if not match:
                raise PromQLError(f"cannot read {text[position : position + 20]!r}")
            position = match.end()
            if match.lastgroup != "space":
                assert match.lastgroup is not None
                self.tokens.append((match.lastgroup, match.group()))
        self.position = 0

    # tokens
    def peek(self, offset: int = 0) -> str:
        index = self.position + offset
        return self.tokens[index][1] if index < len(self.tokens) else ""

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if not token or (expected is not None and token != expected):
            raise PromQLError(f"expected {expected or 'more'}, found {token or 'the end'}")
        self.position += 1
        return token

    def take_kind(self, kind: str) -> str:
        if self.position >= len(self.tokens) or self.tokens[self.position][0] != kind:
            raise PromQLError(f"expected a {kind}, found {self.peek() or 'the end'}")
        return self.take()

    def label_list(self) -> list[str]:
        self.take("(")
        names = []
        while self.peek() != ")":
            names.append(self.take_kind("ident"))
            if self.peek() == ",":
                self.take()
        self.take(")")
        return names

    # grammar
    def read(self) -> Value:
        value = self.expression(1)
        if self.peek():
            raise PromQLError(f"unexpected {self.peek()!r}")
        return value

    def expression(self, minimum: int) -> Value:
        left = self.unary()
        while (op := self.peek()) in PRECEDENCE and PRECEDENCE[op] >= minimum:
            self.take()
            if self.peek() == "bool":
                self.take()
            matching = group = None
            extra: list[str] = []
            if self.peek() in {"on", "ignoring"}:
                matching = (self.take(), self.label_list())
                if self.peek() in {"group_left", "group_right"}:
                    group = self.take()
                    extra = self.label_list() if self.peek() == "(" else []
            right = self.expression(PRECEDENCE[op] + (op != "^"))
            left = binary(op, left, right, matching, group, extra)
        return left

    def unary(self) -> Value:
        if self.peek() in {"-", "+"}:
            self.take()
            return self.unary()
        value = self.primary()
        while self.peek() in {"[", "offset"}:
            if self.take() == "[":  # a range (or subquery): the same labels, over time
                self.take_kind("duration")
                if self.peek() == ":":
                    self.take()
                    if self.peek() != "]":
                        self.take_kind("duration")
                self.take("]")
                value = dataclasses.replace(value, kind="range")
            else:
                self.take_kind("duration")
        return value

    def primary(self) -> Value:
        kind, token = self.tokens[self.position] if self.peek() else ("", "")
        if kind == "number":
            self.take()
            return SCALAR
        if kind == "string":
            self.take()
            return STRING
        if token == "(":
            self.take()
            value = self.expression(1)
            self.take(")")
            return value
        if kind != "ident":
            raise PromQLError(f"unexpected {token or 'end'}")
        if token in AGGREGATIONS | AGGREGATIONS_WITH_PARAMETER:
            return self.aggregation()
        if self.peek(1) == "(":
            return self.function()
        return self.selector()

    def aggregation(self) -> Value:
        name = self.take()
        grouping = None
        if self.peek() in {"by", "without"}:
            grouping = (self.take(), self.label_list())
        self.take("(")
        if name in AGGREGATIONS_WITH_PARAMETER:
            self.expression(1)
            self.take(",")
        inner = vector(self.expression(1), name)
        self.take(")")
        if self.peek() in {"by", "without"}:
            grouping = (self.take(), self.label_list())
        assert inner.labels is not None
        if grouping is None:
            return Value(frozenset() if name in AGGREGATIONS else inner.labels)
        clause, names = grouping
        missing(names, inner.labels, f"{name} {clause} ({', '.join(names)})")
        if clause == "by":
            return Value(frozenset(names))
        return Value(inner.labels - set(names))

    def function(self) -> Value:
        name = self.take()
        self.take("(")
        args = []
        while self.peek() != ")":
            args.append(self.expression(1))
            if self.peek() == ",":
                self.take()
        self.take(")")
        if name in KEEP_LABELS:
            [first, *_] = [a for a in args if a.kind in {"vector", "range"}] or [SCALAR]
            return Value(vector(first, name).labels)
        if name == "histogram_quantile":
            buckets = vector(args[1], name)
            assert buckets.labels is not None
            missing(["le"], buckets.labels, "histogram_quantile")
            return Value(buckets.labels - {"le"})
        if name == "label_replace":
            source = vector(args[0], name)
            assert source.labels is not None
            strings = self.string_arguments(4)
            destination, source_label = strings[0], strings[2]
            if source_label:
                missing([source_label], source.labels, "label_replace")
            return Value(source.labels | {destination})
        if name == "absent":
            vector(args[0], name)
            return Value(frozenset())
        if name == "time":
            return SCALAR
        if name == "vector":
            return Value(frozenset())
        if name == "scalar":
            return SCALAR
        raise PromQLError(f"function {name}() is not known to this reader")

    def string_arguments(self, count: int) -> list[str]:
        """The last `count` string literals before the current position, in order."""
        strings = [json.loads(t) for kind, t in self.tokens[: self.position] if kind == "string"]
        return strings[-count:]

    def selector(self) -> Value:
        name = self.take_kind("ident")
        if name not in self.known:
            raise PromQLError(f"unknown metric {name} (not in docs/reference/metrics.md)")
        labels = self.known[name]
        if self.peek() == "{":
            self.take()
            while self.peek() != "}":
                label = self.take_kind("ident")
                self.take()  # = != =~ !~
                self.take_kind("string")
                if label not in labels:
                    raise PromQLError(f"{name} has no label {label} (it has {sorted(labels)})")
                if self.peek() == ",":
                    self.take()
            self.take("}")
        return Value(labels)


def vector(value: Value, where: str) -> Value:
    if value.labels is None:
        raise PromQLError(f"{where} needs a vector")
    return value


def missing(names: list[str], labels: frozenset[str], where: str) -> None:
    absent = [n for n in names if n not in labels]
    if absent:
        raise PromQLError(f"{where}: no label {absent} on {sorted(labels)}")


def binary(
    op: str,
    left: Value,
    right: Value,
    matching: tuple[str, list[str]] | None,
    group: str | None,
    extra: list[str],
) -> Value:
    """The labels of `left op right`, as Prometheus matches vectors (docs: "Vector matching")."""
    if left.labels is None or right.labels is None:
        if op in {"and", "or", "unless"} or matching:
            raise PromQLError(f"{op} with on/ignoring needs two vectors")
        return right if left.labels is None else left
    where = f"{op} {matching[0]}({', '.join(matching[1])})" if matching else op
    if matching is None:
        if left.labels != right.labels:
            raise PromQLError(
                f"{where}: the sides' labels differ ({sorted(left.labels)} and "
                f"{sorted(right.labels)}), so no series match: name the labels with on(...)"
            )
        return left if op != "or" else Value(left.labels & right.labels)
    clause, names = matching
    if clause == "on":
        missing(names, left.labels, f"{where}, left side")
        missing(names, right.labels, f"{where}, right side")
    else:
        missing(names, left.labels | right.labels, where)
    if op in {"and", "unless"}:
        return left
    if op == "or":
        return Value(left.labels & right.labels)
    if group == "group_left":
        missing(extra, right.labels, f"{where} group_left")
        return Value(left.labels | set(extra))
    if group == "group_right":
        missing(extra, left.labels, f"{where} group_right")
        return Value(right.labels | set(extra))
    return Value(frozenset(names) if clause == "on" else left.labels - set(names))


def check_expression(text: str, known: dict[str, frozenset[str]]) -> Value:
    try:
        return Reader(text, known).read()
    except PromQLError as error:
        pytest.fail(f"{error}\n  in: {' '.join(text.split())}")


def refused(text: str) -> str:
    """Why the reader refuses `text` (the test fails if it does not)."""
    with pytest.raises(PromQLError) as error:
        Reader(text, known_metrics()).read()
    return str(error.value)


# --- the rules against metrics.md ---------------------------------------------------------------


@pytest.mark.parametrize(
    "rule", rules("record") + rules("alert"), ids=lambda r: r.get("record") or r["alert"]
)
def test_every_rule_names_documented_metrics_and_labels(rule: dict[str, Any]) -> None:
    value = check_expression(rule["expr"], known_metrics())
    assert value.kind == "vector", "a rule must give a vector"


def test_the_recording_rules_keep_queue_and_channel() -> None:
    known = known_metrics()
    for rule in rules("record"):
        labels = known[rule["record"]]
        assert labels >= {"queue"}, rule["record"]
        assert not labels & TARGET_LABELS, f"{rule['record']}: summed across instances"


# --- the reader itself on bad input -------------------------------------------------------------


def test_the_reader_refuses_a_label_that_does_not_exist() -> None:
    assert "no label ['agent']" in refused("sum by (agent) (contactd_queue_waiting)")
    assert "has no label case_type" in refused('contactd_queue_waiting{case_type="visa"}')
    assert "no label ['channel']" in refused(
        "max by (queue, channel) (contactd_callback_compliance_ratio)"
    )
    assert "no label ['le']" in refused(
        "histogram_quantile(0.9, sum by (queue) (rate(contactd_wait_seconds_bucket[5m])))"
    )
    assert "left side" in refused(
        "contactd:callback_compliance:ratio_today < on (queue, channel) "
        "contactd:service_goal_target:ratio"
    )
    assert "no label ['state']" in refused(
        "contactd_queue_waiting * on (queue) group_left (state) contactd_staffing_agents"
    )


def test_the_reader_refuses_unknown_metrics_and_sides_that_never_match() -> None:
    assert "unknown metric contactd_queue_wating" in refused("contactd_queue_wating")
    assert "labels differ" in refused(
        "contactd:service_level:ratio_today < contactd_service_goal_target_ratio"
    )
    assert "not known" in refused("holt_winters(contactd_queue_waiting[5m], 0.5, 0.5)")
    assert "expected" in refused("sum by (queue (contactd_queue_waiting)")


def test_the_reader_follows_prometheus_matching_and_precedence() -> None:
    known = known_metrics()
    ratio = check_expression(
        "max by (queue, channel) (contactd_today_answered + contactd_today_abandoned) >= 10",
        known,
    )
    assert ratio.labels == frozenset({"queue", "channel"})
    on = check_expression(
        "contactd_queue_waiting / on (queue, channel) contactd_queue_oldest_wait_seconds", known
    )
    assert on.labels == frozenset({"queue", "channel"})
    left = check_expression(
        "contactd_queue_waiting * on (queue) group_left () contactd_staffing_agents", known
    )
    assert left.labels == known["contactd_queue_waiting"]
    age = check_expression("time() - max(contactd_statistics_timestamp_seconds)", known)
    assert age == Value(frozenset())
    assert check_expression("sum(up) # comment", known).labels == frozenset()


# --- the dashboards -----------------------------------------------------------------------------


def dashboard(path: Path) -> dict[str, Any]:
    document = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def panels(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for panel in document["panels"]:
        found.append(panel)
        found += panel.get("panels", [])  # a collapsed row holds its panels
    return found


def dashboard_expressions(document: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in panels(document) for t in p.get("targets", [])]


def grafana_to_promql(expr: str) -> str:
    """An expression as Grafana sends it, its variables replaced."""
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"a Grafana variable this test does not know: {expr}"
    return expr


def provisioned_datasource_uid() -> str:
    [source] = parse_yaml_subset(DATASOURCES.read_text(encoding="utf-8"))["datasources"]
    assert source["type"] == "prometheus"
    uid = source["uid"]
    assert isinstance(uid, str)
    return uid


def test_the_dashboards_have_fixed_unique_uids() -> None:
    assert [p.name for p in DASHBOARDS] == ["overview.json", "queue.json", "wallboard.json"]
    uids = {p.name: dashboard(p).get("uid") for p in DASHBOARDS}
    assert uids == {
        "overview.json": "contactd-overview",
        "queue.json": "contactd-queue",
        "wallboard.json": "contactd-wallboard",
    }
    for document in map(dashboard, DASHBOARDS):
        assert re.fullmatch(r"[a-z0-9-]{1,40}", document["uid"])
        assert document.get("id") is None, "an id is Grafana's own; provisioning sets it"
        ids = [p["id"] for p in panels(document)]
        assert len(ids) == len(set(ids)), f"{document['uid']}: panel ids repeat"


def test_every_panel_and_variable_uses_the_datasource_variable() -> None:
    """Every query asks the dashboard's `datasource` variable, which starts on the
    provisioned datasource (tests/unit/test_wallboard.py checks the variable itself)."""
    uid = provisioned_datasource_uid()
    for path in DASHBOARDS:
        document = dashboard(path)
        [variable] = [v for v in document["templating"]["list"] if v["type"] == "datasource"]
        assert variable["current"]["value"] == uid, path.name
        sources = [p["datasource"] for p in panels(document) if p["type"] != "row"]
        sources += [t["datasource"] for p in panels(document) for t in p.get("targets", [])]
        sources += [v["datasource"] for v in document["templating"]["list"] if "datasource" in v]
        assert sources
        for source in sources:
            assert source == {"type": "prometheus", "uid": "${datasource}"}, path.name


def test_every_panel_shows_something_and_fits_the_grid() -> None:
    for path in DASHBOARDS:
        for panel in panels(dashboard(path)):
            grid = panel["gridPos"]
            assert grid["x"] >= 0, f"{path.name}: {panel['title']}"
            assert grid["x"] + grid["w"] <= 24, f"{path.name}: {panel['title']}"
            if panel["type"] != "row":
                assert panel.get("targets"), f"{path.name}: {panel['title']} has no query"
                assert panel.get("description"), f"{path.name}: {panel['title']}: say what it is"
                refs = [t["refId"] for t in panel["targets"]]
                assert len(refs) == len(set(refs)), f"{path.name}: {panel['title']}"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_dashboard_query_names_documented_metrics_and_labels(path: Path) -> None:
    known = known_metrics()
    expressions = dashboard_expressions(dashboard(path))
    assert expressions
    for expr in expressions:
        value = check_expression(grafana_to_promql(expr), known)
        assert value.kind == "vector", expr


def test_the_queue_dashboard_chooses_a_queue_that_exists() -> None:
    document = dashboard(GRAFANA / "dashboards" / "queue.json")
    [variable] = [v for v in document["templating"]["list"] if v["name"] == "queue"]
    match = re.fullmatch(r"label_values\((\w+), (\w+)\)", variable["query"]["query"])
    assert match, variable["query"]
    known = known_metrics()
    assert match[1] in known
    assert match[2] in known[match[1]]
    for expr in dashboard_expressions(document):
        assert 'queue="$queue"' in expr, f"not filtered by the chosen queue: {expr}"


def test_the_overview_shows_every_figure_the_supervisors_asked_for() -> None:
    used = " ".join(dashboard_expressions(dashboard(GRAFANA / "dashboards" / "overview.json")))
    for name in [
        "contactd_queue_waiting",
        "contactd_queue_oldest_wait_seconds",
        "contactd:service_level:ratio_today",
        "contactd:service_goal_target:ratio",
        "contactd:answer_rate:ratio_today",
        'contactd_queue_agents{state="available"}',
        "contactd_staffing_agents_required",
        "contactd_callbacks_due",
        'contactd_queue_overdue{channel="callback"}',
        'contactd_queue_overdue{channel="email"}',
        'contactd_queue_waiting{channel="ticket"}',
        "contactd_csat_score",
    ]:
        assert name in used, f"the overview does not show {name}"
