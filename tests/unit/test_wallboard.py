"""The wallboard (docker/grafana/dashboards/wallboard.json), checked without Grafana: today so
far, refreshed often, every panel on the datasource variable (the other dashboards too), a
few big stat panels and no table, every stat panel coloured by thresholds, and every query on
series that docs/reference/metrics.md or the recording rules define.

Each tile shows one figure of one queue, green or red against that queue's own goal: a query
per colour, of which exactly one answers. Those comparisons are unit-tested by promtool
(docker/prometheus/tests/recording_test.yml); a real Prometheus runs every query over a
daemon with traffic in tests/e2e/test_prometheus.py.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.unit.test_monitoring import (
    DASHBOARDS,
    GRAFANA,
    check_expression,
    dashboard,
    known_metrics,
    panels,
    provisioned_datasource_uid,
    rule_tests,
)

WALLBOARD = GRAFANA / "dashboards" / "wallboard.json"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
# What a repeated tile shows: its queue, on the channel chosen for the wall.
PAIR = '{queue="$queue", channel="$channel"}'
VARIABLES = {"$queue": "family", "$channel": "call"}
COMPARISON = re.compile(
    r"(?P<left>.+) (?P<op>>=|<=|<|>|unless) on \(queue, channel\) (?P<right>[\w:]+)"
)


def wallboard() -> dict[str, Any]:
    return dashboard(WALLBOARD)


def stats() -> list[dict[str, Any]]:
    return [p for p in panels(wallboard()) if p["type"] == "stat"]


def variables(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in document["templating"]["list"]}


def promql(expr: str) -> str:
    for variable, value in VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"a variable this test does not know: {expr}"
    return expr


def seconds(interval: str) -> int:
    match = re.fullmatch(r"(\d+)([sm])", interval)
    assert match, interval
    return int(match[1]) * {"s": 1, "m": 60}[match[2]]


def colour(panel: dict[str, Any], ref: str) -> str:
    """The colour a query's tile takes: its override's thresholds, else the panel's base."""
    for override in panel["fieldConfig"]["overrides"]:
        if override["matcher"] == {"id": "byFrameRefID", "options": ref}:
            for prop in override["properties"]:
                if prop["id"] == "thresholds":
                    return str(prop["value"]["steps"][0]["color"])
    return "neutral"


def test_the_range_is_today_so_far_and_refreshed_every_10_to_30_seconds() -> None:
    document = wallboard()
    assert document["uid"] == "contactd-wallboard"
    assert document["time"] == {"from": "now/d", "to": "now"}
    assert 10 <= seconds(document["refresh"]) <= 30
    assert document["refresh"] in document["timepicker"]["refresh_intervals"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_panel_and_query_uses_the_datasource_variable(path: Any) -> None:
    document = dashboard(path)
    found = variables(document)["datasource"]
    assert (found["type"], found["query"]) == ("datasource", "prometheus")
    # Chosen at first as provisioned (docker/grafana/provisioning), so it works unedited.
    assert found["current"]["value"] == provisioned_datasource_uid()
    sources = [p["datasource"] for p in panels(document) if p["type"] != "row"]
    sources += [t["datasource"] for p in panels(document) for t in p.get("targets", [])]
    sources += [v["datasource"] for v in document["templating"]["list"] if v["type"] == "query"]
    assert sources
    assert all(source == DATASOURCE for source in sources), path.name


def test_the_wallboard_is_a_few_big_stat_panels_and_no_table() -> None:
    assert {p["type"] for p in panels(wallboard())} == {"stat", "row"}
    assert len(stats()) <= 6
    for panel in stats():
        assert panel["gridPos"]["h"] >= 4, panel["title"]
        assert panel["options"]["graphMode"] == "none", panel["title"]  # the figure alone
        assert panel["options"]["colorMode"] in {"background", "value"}, panel["title"]
        assert panel["options"]["reduceOptions"]["calcs"] == ["lastNotNull"]
        assert all(t["instant"] for t in panel["targets"]), panel["title"]
        assert panel["fieldConfig"]["defaults"]["noValue"] == "–", "nothing to measure: –"


def test_every_stat_panel_is_coloured_by_thresholds() -> None:
    for panel in stats():
        defaults = panel["fieldConfig"]["defaults"]
        assert defaults["color"] == {"mode": "thresholds"}, panel["title"]
        found = [defaults["thresholds"]]
        found += [
            prop["value"]
            for override in panel["fieldConfig"]["overrides"]
            for prop in override["properties"]
            if prop["id"] == "thresholds"
        ]
        for thresholds in found:
            assert thresholds["mode"] == "absolute", panel["title"]
            assert thresholds["steps"][0]["value"] is None, "the first step is the base colour"


def test_a_tile_per_chosen_queue_on_the_chosen_channel() -> None:
    document = wallboard()
    queue, channel = variables(document)["queue"], variables(document)["channel"]
    assert queue["multi"]
    assert queue["includeAll"]
    assert not channel["multi"]
    assert channel["current"]["value"] == "call"
    known = known_metrics()
    for variable in (queue, channel):
        match = re.fullmatch(r"label_values\((\w+)(\{.*\})?, (\w+)\)", variable["query"]["query"])
        assert match, variable["query"]
        assert match[3] in known[match[1]], variable["name"]
        check_expression(promql(match[1] + (match[2] or "")), known)
    # One panel for all: the agents. Every other repeats for each queue chosen.
    [agents] = [p for p in stats() if "repeat" not in p]
    assert "contactd_agents" in agents["targets"][0]["expr"]
    for panel in stats():
        if panel["id"] != agents["id"]:
            assert (panel["repeat"], panel["title"]) == ("queue", "$queue")
            for target in panel["targets"]:
                assert PAIR in target["expr"], target["expr"]


def test_each_tile_has_one_query_per_colour_and_exactly_one_can_answer() -> None:
    """The queries of a tile (one legend) compare the same figure with the same goal: at or
    over and under, or within, past and without a goal. Whatever the figure, one answers."""
    partitions = [{">=", "<"}, {"<=", ">", "unless"}]
    for panel in stats():
        tiles: dict[str, list[dict[str, Any]]] = {}
        for target in panel["targets"]:
            tiles.setdefault(target["legendFormat"], []).append(target)
        for legend, targets in tiles.items():
            if len(targets) == 1:
                assert colour(panel, targets[0]["refId"]) == "neutral", legend
                continue
            found = [COMPARISON.fullmatch(t["expr"]) for t in targets]
            assert all(found), f"{legend}: not a comparison with the goal"
            assert len({(m["left"], m["right"]) for m in found if m}) == 1, legend
            assert {m["op"] for m in found if m} in partitions, legend


def test_the_service_level_is_green_at_its_target_and_red_below() -> None:
    [panel] = [p for p in stats() if "service_level" in p["targets"][0]["expr"]]
    target = " on (queue, channel) contactd:service_goal_target:ratio"
    by_colour = {colour(panel, t["refId"]): t["expr"] for t in panel["targets"]}
    assert by_colour["green"].endswith(">=" + target)
    assert by_colour["red"].endswith("<" + target)
    [waits] = [p for p in stats() if "oldest_wait" in " ".join(t["expr"] for t in p["targets"])]
    goal = " on (queue, channel) contactd:service_goal_threshold:seconds"
    by_colour = {colour(waits, t["refId"]): t["expr"] for t in waits["targets"][1:]}
    assert by_colour["green"].endswith("<=" + goal)
    assert by_colour["red"].endswith(">" + goal)


def test_every_query_names_series_of_the_metrics_page_or_the_rules() -> None:
    known = known_metrics()
    for panel in stats():
        for target in panel["targets"]:
            assert check_expression(promql(target["expr"]), known).kind == "vector"


def test_the_colours_are_unit_tested_by_promtool() -> None:
    tested = {case["expr"] for test in rule_tests() for case in test.get("promql_expr_test") or []}
    for panel in stats():
        for target in panel["targets"]:
            if COMPARISON.fullmatch(target["expr"]):
                assert target["expr"].replace(PAIR, "") in tested, target["expr"]
