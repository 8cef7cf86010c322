"""The daemon classifies at intake with the real model: sure text goes to its queue,
unsure text to general triage with the model's guesses; staff corrections are stored."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from contactd import settings
from contactd.app import create_app
from contactd.cli.classifier import read_feedback
from contactd.clock import Clock
from contactd.http.appkeys import POOL
from contactd.settings import Settings
from contactd.store.staff import Role
from tests.conftest import token_for

Client = TestClient[web.Request, web.Application]
FAMILY = (
    "Ansøgning om familiesammenføring med min ægtefælle fra Thailand. "
    "Hvilke dokumenter skal jeg sende?"
)
# Between lapse, permanent residence and appeal: the model is unsure of it.
UNSURE = (
    "Jeg har permanent ophold men har været ude af landet i et år. "
    "Bortfalder det? Og kan jeg klage?"
)


@pytest.fixture
async def classifying(classifier_config: Settings, clock: Clock) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(classifier_config, clock=clock))) as c:
        yield c


async def _new(client: Client, auth: dict[str, str], text: str) -> dict[str, Any]:
    response = await client.post(
        "/api/contacts", json={"channel": "email", "text": text}, headers=auth
    )
    assert response.status == 201, await response.text()
    return await response.json()  # type: ignore[no-any-return]


async def test_sure_text_goes_to_its_queue_and_unsure_text_to_triage_with_guesses(
    classifying: Client,
) -> None:
    front = await token_for(classifying.app[POOL], "frida", Role.FRONTDESK)
    family, unsure = await asyncio.gather(
        _new(classifying, front, FAMILY), _new(classifying, front, UNSURE)
    )
    assert (family["case_type"], family["case_type_source"], family["queue"]) == (
        "family",
        "classifier",
        "family",
    )
    assert family["confidence"] > 0.9
    assert (unsure["case_type"], unsure["queue"]) == ("general", "general")
    guesses = unsure["guesses"]
    assert [g["case_type"] for g in guesses] == ["lapse", "permanent", "appeal"]
    assert guesses[0]["confidence"] < 0.5
    assert unsure["confidence"] == pytest.approx(guesses[0]["confidence"])


async def test_the_language_is_detected_when_not_given(classifying: Client) -> None:
    front = await token_for(classifying.app[POOL], "frida", Role.FRONTDESK)
    english = await _new(classifying, front, "I need a visa to visit my sister for two weeks.")
    danish = await _new(classifying, front, FAMILY)
    assert (english["language"], english["case_type"]) == ("en", "visa")
    assert danish["language"] == "da"


async def test_a_triage_caseworker_corrects_the_case_type_and_it_is_kept_for_training(
    classifying: Client,
) -> None:
    pool: asyncpg.Pool = classifying.app[POOL]
    supervisor = await token_for(pool, "sofie", Role.SUPERVISOR)
    karin = await token_for(pool, "karin", Role.AGENT)
    profile = {"skills": {"general": 3}, "languages": ["da"]}
    assert (await classifying.put("/api/agents/karin", json=profile, headers=supervisor)).ok
    await classifying.post("/api/desk/state", json={"state": "available"}, headers=karin)
    ref = (await _new(classifying, supervisor, UNSURE))["reference"]
    for _ in range(100):
        desk = await (await classifying.get("/api/desk", headers=karin)).json()
        if desk["contacts"]:
            break
        await asyncio.sleep(0.05)
    assert [c["reference"] for c in desk["contacts"]] == [ref]
    assert (await classifying.post(f"/api/desk/contacts/{ref}/accept", headers=karin)).ok

    moved = await classifying.post(
        f"/api/desk/contacts/{ref}/transfer", json={"case_type": "lapse"}, headers=karin
    )
    body = await moved.json()
    assert (body["state"], body["case_type"], body["case_type_source"], body["queue"]) == (
        "queued",
        "lapse",
        "staff",
        "residence",
    )
    view = await (await classifying.get("/api/classifier", headers=supervisor)).json()
    assert view["state"] == "ready"
    assert view["card"]["test"]["macro_f1"] >= 0.90
    assert (view["corrections"]["total"], view["corrections"]["of_classifier"]) == (1, 1)
    async with pool.acquire() as conn:
        [example] = await read_feedback(conn)
    assert (example.case_type, example.text, example.split) == ("lapse", UNSURE, "train")
    agent = await token_for(pool, "jens", Role.AGENT)
    assert (await classifying.get("/api/classifier", headers=agent)).status == 403


async def test_transfer_needs_a_known_queue_or_case_type(classifying: Client) -> None:
    pool: asyncpg.Pool = classifying.app[POOL]
    karin = await token_for(pool, "karin", Role.AGENT)
    for body, message in [
        ({}, "name the queue, the corrected case type, or a colleague"),
        ({"case_type": "pets"}, "unknown case type 'pets'"),
    ]:
        response = await classifying.post(
            "/api/desk/contacts/AAAA-AAAA/transfer", json=body, headers=karin
        )
        assert response.status == 422
        assert message in await response.text()


async def test_an_unusable_model_file_sends_everything_to_triage_and_says_so(
    db_url: str, classifier_config: Settings, model_file: Path, tmp_path: Path, clock: Clock
) -> None:
    damaged = tmp_path / "case-types.skops"
    damaged.write_bytes(b"not a model")
    config = settings.load(
        classifier_config.path,
        environ={
            "CONTACTD_DATABASE_URL": db_url,
            "CONTACTD_CLASSIFIER__MODEL": str(damaged),
            "CONTACTD_CLASSIFIER__RELOAD_SECONDS": "0.1",
        },
    )
    async with TestClient(TestServer(create_app(config, clock=clock))) as client:
        front = await token_for(client.app[POOL], "frida", Role.FRONTDESK)
        contact = await _new(client, front, FAMILY)
        health = await (await client.get("/health")).json()
        assert (contact["case_type"], contact["confidence"], contact["guesses"]) == (
            "general",
            0.0,
            [],
        )
        assert health["classifier"] == "failed"
        assert damaged.read_bytes() == b"not a model"

        # The operator puts a good model in its place: the daemon picks it up.
        shutil.copy(model_file, damaged)
        for _ in range(100):
            if (await (await client.get("/health")).json())["classifier"] == "ready":
                break
            await asyncio.sleep(0.05)
        contact = await _new(client, front, FAMILY)
    assert (contact["case_type"], contact["case_type_source"]) == ("family", "classifier")
