"""The phone channel in the daemon as an operator runs it: Twilio's signed webhooks reach
`contactd run` configured only through its environment."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from tests.e2e.daemon import Daemon

pytestmark = pytest.mark.slow
TOKEN = "e2e-auth-token"
PUBLIC = "https://contact.example.dk"


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    d = Daemon(
        ["run", "--data-dir", str(tmp_path / "data"), "--port", "0"],
        tmp_path / "d.log",
        {"CONTACTD_TWILIO_AUTH_TOKEN": TOKEN, "CONTACTD_PUBLIC_URL": PUBLIC},
    )
    try:
        d.wait_ready()
        yield d
    finally:
        d.close()


def _post(url: str, form: dict[str, str], signature: str) -> tuple[int, str]:
    request = urllib.request.Request(  # noqa: S310 - the daemon's own http URL
        url, data=urlencode(form).encode(), headers={"X-Twilio-Signature": signature}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_a_signed_call_gets_twiml_and_a_forged_one_is_refused(daemon: Daemon) -> None:
    form = {"CallSid": "CA" + "0123456789abcdef" * 2, "From": "+4520123456", "To": "+4570201010"}
    good = RequestValidator(TOKEN).compute_signature(PUBLIC + "/twilio/voice", form)
    status, twiml = _post(daemon.url + "/twilio/voice", form, good)
    assert status == 200
    assert twiml.startswith('<?xml version="1.0" encoding="UTF-8"?><Response>')
    assert "Velkommen til Udlændingestyrelsen." in twiml
    forged = RequestValidator("not-the-token").compute_signature(PUBLIC + "/twilio/voice", form)
    status, body = _post(daemon.url + "/twilio/voice", form, forged)
    assert (status, '"bad_signature"' in body) == (403, True)
    assert daemon.interrupt() == 0
    assert "+4520123456" not in daemon.output()  # the caller's number never reaches the log
