"""The agency's forms attached to an answer (issue 19) against a real Dovecot and aiosmtpd: a
caseworker attaches a checklist by name from the forms folder, the client's mail arrives with
it; a name that is not one of the forms, or a form too large, is refused and nothing is sent."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from contactd.app import create_app
from contactd.clock import Clock
from contactd.http.appkeys import POOL
from contactd.store.staff import Role
from tests import mailserver
from tests.conftest import token_for
from tests.integration.test_desk import PROFILE
from tests.integration.test_email_desk import _client_mail, _eventually

Client = TestClient[web.Request, web.Application]
CHECKLIST = b"%PDF-1.4 tjekliste familiesammenfoering"


@pytest.fixture
async def daemon(
    imap_port: int, db_url: str, smtp: tuple[mailserver.Smtp, int], clock: Clock, tmp_path: Path
) -> AsyncIterator[Client]:
    forms = tmp_path / "forms"
    forms.mkdir()
    (forms / "tjekliste-familie.pdf").write_bytes(CHECKLIST)
    (forms / "for-stor.pdf").write_bytes(b"x" * 2000)
    (forms / ".skjult.pdf").write_bytes(b"hidden")
    _, smtp_port = smtp
    config = mailserver.answering_config(db_url, imap_port, smtp_port)
    email = config.email.model_copy(update={"forms_dir": str(forms), "max_attachment_bytes": 1000})
    app = create_app(dataclasses.replace(config, email=email), clock=clock)
    async with TestClient(TestServer(app)) as client:
        yield client


async def _true(value: bool) -> bool:
    return value


async def test_a_caseworker_attaches_a_checklist_and_the_client_gets_it(
    daemon: Client, imap_port: int, smtp: tuple[mailserver.Smtp, int]
) -> None:
    received, _ = smtp
    pool: asyncpg.Pool = daemon.app[POOL]
    supervisor = await token_for(pool, "sofie", Role.SUPERVISOR)
    karin = await token_for(pool, "karin", Role.AGENT)
    await daemon.put("/api/agents/karin", json=PROFILE, headers=supervisor)
    await daemon.post("/api/desk/state", json={"state": "available"}, headers=karin)
    mailserver.append(imap_port, _client_mail())

    async def offered() -> list[Any]:
        desk = await (await daemon.get("/api/desk", headers=karin)).json()
        return desk["contacts"]  # type: ignore[no-any-return]

    [contact] = await _eventually(offered, "the e-mail offered to karin")
    ref = contact["reference"]
    await daemon.post(f"/api/desk/contacts/{ref}/accept", headers=karin)
    await _eventually(lambda: _true(len(received.messages) == 1), "the acknowledgement")

    listed = await (await daemon.get("/api/forms", headers=karin)).json()
    assert listed["forms"] == [
        {"filename": "tjekliste-familie.pdf", "content_type": "application/pdf", "size": 39}
    ]  # not the hidden one, not the one over the limit
    for names in (["for-stor.pdf"], ["../../etc/passwd"], [".skjult.pdf"], ["x.pdf"] * 6):
        refused = await daemon.post(
            f"/api/desk/contacts/{ref}/answer",
            json={"text": "Hej", "attachments": names},
            headers=karin,
        )
        assert refused.status == 422, names
        assert (await refused.json())["error"]["code"] in ("bad_attachment", "invalid_body")
    answered = await daemon.post(
        f"/api/desk/contacts/{ref}/answer",
        json={"text": "Kære Anna\n\nHer er tjeklisten.", "attachments": ["tjekliste-familie.pdf"]},
        headers=karin,
    )
    assert answered.status == 200, await answered.text()
    await _eventually(lambda: _true(len(received.messages) == 2), "the answer")
    await asyncio.sleep(0.2)
    assert len(received.messages) == 2  # the refused ones sent nothing
    sent = received.messages[1]
    [part] = [p for p in sent.walk() if p.get_filename()]
    assert (part.get_filename(), part.get_content_type()) == (
        "tjekliste-familie.pdf",
        "application/pdf",
    )
    assert part.get_payload(decode=True) == CHECKLIST
    body = sent.get_body(preferencelist=("plain",))
    assert body is not None
    assert "Her er tjeklisten." in body.get_content()
