"""axe-core, run in a page the browser tests have open: what it finds against WCAG 2.1 A and
AA, and a message that names it. scripts/bootstrap --dev installs axe-core, pinned, in
.axe/ (npm).

The pages allow only their own scripts (`default-src 'self'`), so an inline script tag
(`add_script_tag(path=...)`) would be refused. axe is injected as a script of the page's
own origin instead, a path no page uses that playwright answers with the file from .axe/:
the page's Content Security Policy stays in force while axe runs."""

from __future__ import annotations

import os
from typing import Any

import pytest
from playwright.async_api import Page, Route

from tests.conftest import ROOT

AXE = ROOT / ".axe" / "node_modules" / "axe-core" / "axe.min.js"
# Where the page fetches axe from: its own origin, answered by playwright, never the daemon.
AXE_PATH = "/__axe-core/axe.min.js"
# WCAG 2.0 and 2.1, levels A and AA.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

RUN = """async ([context, tags]) => {
    const results = await axe.run(context ?? document, {
        runOnly: { type: "tag", values: tags },
        resultTypes: ["violations"],
    });
    return results.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => ({
            target: n.target.join(" "),
            summary: n.failureSummary ?? "",
        })),
    }));
}"""


def _require_axe() -> None:
    if AXE.is_file():
        return
    message = f"axe-core is missing ({AXE}); scripts/bootstrap --dev installs it"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


async def _inject(page: Page) -> None:
    if await page.evaluate("typeof window.axe === 'object'"):
        return

    async def serve(route: Route) -> None:
        await route.fulfill(path=AXE, content_type="text/javascript")

    await page.route(f"**{AXE_PATH}", serve)
    try:
        await page.add_script_tag(url=AXE_PATH)
    finally:
        await page.unroute(f"**{AXE_PATH}", serve)


async def violations(page: Page, *, context: str | None = None) -> list[dict[str, Any]]:
    """The WCAG 2.1 A and AA rules the page breaks as it stands now (in `context`, a CSS
    selector, if given): each with its rule id, impact, help text, and the nodes that fail
    it (their CSS target and axe's summary of what is wrong)."""
    _require_axe()
    await _inject(page)
    found: list[dict[str, Any]] = await page.evaluate(RUN, [context, TAGS])
    return found


def describe(found: list[dict[str, Any]]) -> str:
    """The violations as an assertion message: rule, impact, help, and each failing node."""
    lines = [f"{len(found)} WCAG 2.1 AA violation(s):"]
    for v in found:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"]:
            summary = " ".join(str(node["summary"]).split())
            lines.append(f"    {node['target']}: {summary}")
    return "\n".join(lines)
