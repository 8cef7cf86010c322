"""Docs and examples name no path of a development machine: examples use neutral ones
(`./data`, `/var/lib/contactd`, `/etc/contactd`)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import ROOT

# A checkout's or a home's absolute path, a test's temporary folder, a Python install.
MACHINE_PATH = re.compile(
    r"(?<![\w.~])(/work/|/root/|/home/\w+/|/Users/\w+|/tmp/pytest|/tmp/contactd-|"
    r"\.pyenv/|/opt/pypi|[A-Z]:\\Users\\)"
)
SKIP = {".venv", ".prism", ".git", "node_modules"}


def machine_paths(text: str, *, root: Path = ROOT) -> list[str]:
    """The lines of `text` that name a development machine's path (or this checkout's)."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if MACHINE_PATH.search(line) or (str(root) != "/" and str(root) in line):
            found.append(f"{number}: {line.strip()}")
    return found


def test_no_doc_names_a_path_of_the_development_machine() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{hit}"
        for path in sorted(ROOT.rglob("*.md"))
        if not SKIP & set(path.relative_to(ROOT).parts)
        for hit in machine_paths(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_the_check_finds_a_machine_path_and_passes_a_neutral_one() -> None:
    assert machine_paths("/work/main/config/contactd.toml: ok")
    assert machine_paths("data in /root/.local/share/contactd")
    assert machine_paths("see /srv/checkout/README.md", root=Path("/srv/checkout"))
    assert not machine_paths("contactd run --data-dir ./data  # or /var/lib/contactd")
    assert not machine_paths("~/.local/share/contactd and /etc/contactd/contactd.toml")
