"""GET /api/wording/pages as the public pages see it: the `pages` catalog of a client
language with the agency's words filled in, the language's direction and the client
languages by their own names; a language the agency does not serve is a 404."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from channels import wording
from contactd.app import create_app
from contactd.clock import SimulatedClock
from contactd.settings import Settings

Client = TestClient[web.Request, web.Application]
BORGERSERVICE = {
    "da": {"agency": "Borgerservice", "Agency": "Borgerservice", "website": "kk.dk"},
    "en": {"agency": "Citizen Service", "Agency": "Citizen Service", "website": "kk.dk/en"},
}


@pytest.fixture
async def borgerservice(config: Settings, clock: SimulatedClock) -> AsyncIterator[Client]:
    """The daemon of another agency: the shipped catalogs, its own words."""
    words = wording.load(["da", "en"], BORGERSERVICE)
    async with TestClient(
        TestServer(create_app(dataclasses.replace(config, wording=words), clock=clock))
    ) as c:
        yield c


async def test_the_pages_get_their_words_in_the_language_asked_for(client: Client) -> None:
    response = await client.get("/api/wording/pages?lang=en")
    assert response.status == 200
    body = await response.json()
    assert (body["lang"], body["dir"]) == ("en", "ltr")
    assert body["languages"] == [  # the shipped client languages, each in its own words
        {"code": "da", "name": "Dansk"},
        {"code": "en", "name": "English"},
        {"code": "ar", "name": "العربية"},
        {"code": "uk", "name": "Українська"},
        {"code": "tr", "name": "Türkçe"},
    ]
    messages = body["messages"]
    assert messages["callback.page_title"] == "Book a call · The Danish Immigration Service"
    assert messages["csat.question"] == "How satisfied are you, in general, with the service?"
    # A message's own placeholders are the page's to fill.
    assert messages["callback.done_window"] == "We will call {day} between {start} and {end}."
    assert response.headers["Content-Language"] == "en"


async def test_without_a_language_the_pages_get_the_agencys_first(client: Client) -> None:
    body = await (await client.get("/api/wording/pages")).json()
    assert body["lang"] == "da"
    assert body["messages"]["callback.title"] == "Bestil et opkald"


async def test_every_message_of_the_catalog_is_sent_in_each_language(client: Client) -> None:
    danish = (await (await client.get("/api/wording/pages?lang=da")).json())["messages"]
    english = (await (await client.get("/api/wording/pages?lang=en")).json())["messages"]
    assert set(danish) == set(english)
    assert {"page.locale", "callback.title", "kiosk.print", "ticket.agency"} <= set(danish)
    assert {"status.open", "csat.thanks_title", "board.counter"} <= set(danish)
    assert all(danish.values())


async def test_the_answer_may_be_cached_and_is_not_sent_again_unchanged(client: Client) -> None:
    first = await client.get("/api/wording/pages?lang=da")
    assert first.headers["Cache-Control"] == "public, max-age=300"
    etag = first.headers["ETag"]
    again = await client.get("/api/wording/pages?lang=da", headers={"If-None-Match": etag})
    assert again.status == 304
    assert await again.read() == b""
    english = await client.get("/api/wording/pages?lang=en", headers={"If-None-Match": etag})
    assert english.status == 200


@pytest.mark.parametrize("lang", ["de", "xx", "", "da-DK", "../en", "EN"])
async def test_a_language_the_agency_does_not_serve_is_not_found(client: Client, lang: str) -> None:
    response = await client.get("/api/wording/pages", params={"lang": lang})
    assert response.status == 404
    error = (await response.json())["error"]
    assert error["code"] == "unknown_language"
    assert "da, en" in error["message"]


async def test_another_agency_is_named_in_its_words_in_every_language(
    borgerservice: Client,
) -> None:
    for lang, title in (("da", "Bestil et opkald · Borgerservice"),
                        ("en", "Book a call · Citizen Service")):  # fmt: skip
        response = await borgerservice.get(f"/api/wording/pages?lang={lang}")
        text = await response.text()
        assert (await response.json())["messages"]["callback.page_title"] == title
        assert "Udlændingestyrelsen" not in text
        assert "Immigration Service" not in text


async def test_a_language_written_right_to_left_says_so(
    config: Settings, clock: SimulatedClock, tmp_path: Path
) -> None:
    """An agency serving Arabic: the pages turn to right-to-left and name it in Arabic."""
    shipped = tmp_path / "locale"
    shutil.copytree(wording.SHIPPED, shipped)
    arabic = (shipped / "en" / "pages.po").read_text().replace("Language: en", "Language: ar")
    (shipped / "ar").mkdir(exist_ok=True)  # (the phone line may be in Arabic already)
    (shipped / "ar" / "pages.po").write_text(arabic)
    words = wording.load(["da", "ar"], {}, shipped=shipped, domains=("pages",))
    app = create_app(dataclasses.replace(config, wording=words), clock=clock)
    async with TestClient(TestServer(app)) as client:
        body = await (await client.get("/api/wording/pages?lang=ar")).json()
        assert body["dir"] == "rtl"
        assert body["languages"] == [
            {"code": "da", "name": "Dansk"},
            {"code": "ar", "name": "العربية"},
        ]
        assert (await client.get("/api/wording/pages?lang=en")).status == 404
