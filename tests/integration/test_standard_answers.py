"""Standard e-mail answers (issue 19): files an agency edits (config/answers/<language>/*.j2),
filled in with the contact's reference, case type, processing goal, checklist and the promised
date, and the caseworker's name, for the contact's case type and language, to its holder only;
a broken template stops the configuration from loading, with the file named."""

from __future__ import annotations

import shutil
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from contactd import settings
from tests.conftest import ROOT
from tests.integration.test_desk import _accepted_family_email, _team

Client = TestClient[web.Request, web.Application]


async def test_the_holder_gets_the_standard_answers_filled_in(
    client: Client, app_pool: asyncpg.Pool
) -> None:
    _, karin, jens, front = await _team(client, app_pool)
    reference = await _accepted_family_email(client, karin, front)
    due = await app_pool.fetchval("SELECT due_at FROM contacts WHERE reference = $1", reference)
    answers = await client.get(f"/api/desk/contacts/{reference}/answers", headers=karin)
    assert answers.status == 200
    found = {a["name"]: a for a in (await answers.json())["answers"]}
    assert set(found) == {"documents", "status"}  # Danish ones; family fits both
    documents = found["documents"]
    assert documents["title"] == "Dokumenter til ansøgningen"
    assert f"Familiesammenføring (reference {reference})" in documents["text"]
    assert "https://www.nyidanmark.dk/da/Du-vil-ansoege/Familie" in documents["text"]
    assert "Sagsbehandlingstiden er 10 måneder" in documents["text"]
    assert documents["text"].rstrip().endswith("Karin\nUdlændingestyrelsen")
    local_due = due.astimezone(settings.load(ROOT / "config" / "contactd.toml", {}).timezone)
    assert f"senest {local_due:%d.%m.%Y}" in found["status"]["text"]
    refused = await client.get(f"/api/desk/contacts/{reference}/answers", headers=jens)
    assert (refused.status, (await refused.json())["error"]["code"]) == (403, "not_holder")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{# title: Hej #}\nDin reference er {{ referance }}.", "'referance' is undefined"),
        ("{# title: Hej | case_types: weather #}\nHej", "unknown case types weather"),
        ("Hej {{ reference }}", "the first line must be"),
        ("{# title: Hej #}\n{% for %}", "Expected"),
    ],
)
def test_a_broken_template_stops_the_configuration_naming_the_file(
    tmp_path: Path, text: str, problem: str
) -> None:
    shutil.copy(ROOT / "config" / "contactd.toml", tmp_path / "contactd.toml")
    shutil.copy(ROOT / "config" / "case_types.toml", tmp_path / "case_types.toml")
    shutil.copytree(ROOT / "config" / "answers", tmp_path / "answers")
    (tmp_path / "answers" / "da" / "broken.j2").write_text(text, encoding="utf-8")
    with pytest.raises(settings.ConfigError) as refused:
        settings.load(tmp_path / "contactd.toml", {})
    assert "answers/da/broken.j2" in str(refused.value)
    assert problem in str(refused.value)
