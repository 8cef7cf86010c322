"""The public booking form against a hostile public (issue 17): SMS pumping and toll fraud
through numbers abroad, posts from other sites, learning who waits, floods through one
proxy or one IPv6 /64, and the global hourly cap on the SMS the form can cause. Over HTTP
against the real daemon and database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from contactd import settings
from contactd.app import create_app
from contactd.clock import FixedClock
from contactd.http.appkeys import METRICS, POOL
from tests.conftest import ROOT, WORKDAY

Client = TestClient[web.Request, web.Application]
PUBLIC = "https://contact.example.dk"


def _daemon(db_url: str, **environ: str) -> Client:
    config = settings.load(
        ROOT / "config" / "contactd.toml",
        environ={
            "CONTACTD_DATABASE_URL": db_url,
            "CONTACTD_CLASSIFIER__ENABLED": "false",
            "CONTACTD_PUBLIC_URL": PUBLIC,
            **environ,
        },
    )
    return TestClient(TestServer(create_app(config, clock=FixedClock(WORKDAY))))


@pytest.fixture
async def site(db_url: str) -> AsyncIterator[Client]:
    async with _daemon(db_url) as client:
        yield client


async def _window(client: Client) -> str:
    body = await (await client.get("/api/callbacks")).json()
    return str(body["windows"][3]["id"])


def _booking(window: str, number: str, key: str) -> dict[str, str]:
    return {"number": number, "case_type": "family", "window": window, "key": key}


async def _counts(client: Client) -> tuple[int, int]:
    pool: asyncpg.Pool = client.app[POOL]
    contacts = await pool.fetchval("SELECT count(*) FROM contacts")
    sms = await pool.fetchval("SELECT count(*) FROM outbox WHERE kind = 'sms'")
    return int(contacts), int(sms)


@pytest.mark.parametrize(
    "number",
    ["+44 7911 123456", "+1 202 555 0142", "+880 1812 345678", "+46 70 123 45 67"],
)
async def test_a_number_abroad_is_refused_and_no_sms_is_sent(site: Client, number: str) -> None:
    window = await _window(site)
    response = await site.post("/api/callbacks", json=_booking(window, number, "form-abroad-1"))
    assert response.status == 422
    assert (await response.json())["error"]["code"] == "country_not_allowed"
    assert await _counts(site) == (0, 0)


async def test_another_site_cannot_make_its_visitors_book(site: Client) -> None:
    window = await _window(site)
    body = '{"number": "20123456", "case_type": "family", "window": "%s", "key": "form-xsite-1"}'
    # A cross-site form or fetch without a preflight can only send text/plain and the like.
    plain = await site.post(
        "/api/callbacks", data=body % window, headers={"Content-Type": "text/plain"}
    )
    assert (plain.status, (await plain.json())["error"]["code"]) == (415, "unsupported_media_type")
    foreign = await site.post(
        "/api/callbacks",
        json=_booking(window, "20123456", "form-xsite-2"),
        headers={"Origin": "https://evil.example"},
    )
    assert (foreign.status, (await foreign.json())["error"]["code"]) == (403, "cross_site")
    assert await _counts(site) == (0, 0)
    ours = await site.post(
        "/api/callbacks",
        json=_booking(window, "20123456", "form-xsite-3"),
        headers={"Origin": PUBLIC},
    )
    assert ours.status == 202
    assert await _counts(site) == (1, 1)


async def test_the_answer_does_not_tell_whether_a_number_already_waits(site: Client) -> None:
    window = await _window(site)
    first = await site.post("/api/callbacks", json=_booking(window, "20123456", "form-wait-1"))
    # Someone else tries the same number: the answer is the answer to a fresh booking.
    probe = await site.post("/api/callbacks", json=_booking(window, "20123456", "form-wait-2"))
    fresh = await site.post("/api/callbacks", json=_booking(window, "20123457", "form-wait-3"))
    answers = [(r.status, await r.json()) for r in (first, probe, fresh)]
    assert answers[0] == answers[1] == answers[2]
    assert "reference" not in answers[1][1]
    assert await _counts(site) == (2, 2)  # no second callback, no SMS to the waiting number


async def test_the_booking_sms_are_capped_per_hour_across_the_form(db_url: str) -> None:
    async with _daemon(
        db_url,
        CONTACTD_PHONE__BOOKING_SMS_PER_HOUR="2",
        CONTACTD_DAEMON__TRUSTED_PROXIES='["127.0.0.1/32", "::1/128"]',
    ) as client:
        window = await _window(client)

        async def book(n: int) -> int:
            response = await client.post(
                "/api/callbacks",
                json=_booking(window, f"2012345{n}", f"form-cap-{n}"),
                headers={"X-Forwarded-For": f"198.51.100.{n}"},
            )
            return response.status

        # A burst at once: the cap is counted and written under one lock, so it holds.
        statuses = await asyncio.gather(*(book(n) for n in range(6)))
        assert statuses == [202] * 6  # all booked: a real caller is still called
        assert await _counts(client) == (6, 2)
        metrics = client.app[METRICS].registry.get_sample_value("contactd_booking_sms_capped_total")
        assert metrics == 4


async def test_behind_a_trusted_proxy_each_client_is_limited_by_its_own_address(
    db_url: str,
) -> None:
    async with _daemon(
        db_url,
        CONTACTD_PHONE__BOOKINGS_PER_ADDRESS_PER_HOUR="2",
        CONTACTD_DAEMON__TRUSTED_PROXIES='["127.0.0.1/32", "::1/128"]',
    ) as client:
        window = await _window(client)

        async def book(n: int, forwarded: str) -> int:
            response = await client.post(
                "/api/callbacks",
                json=_booking(window, f"201234{60 + n}", f"form-proxy-{n}"),
                headers={"X-Forwarded-For": forwarded},
            )
            return response.status

        # One IPv6 subscriber's /64: new addresses in it count as one client; a forged
        # entry before the proxy's own is not believed.
        assert [await book(n, f"1.2.3.4, 2001:db8:1:2::{n + 1}") for n in range(3)] == [
            202,
            202,
            429,
        ]
        assert await book(3, "2001:db8:1:3::1") == 202  # another /64
        assert await book(4, "203.0.113.9") == 202  # another client


async def test_without_trusted_proxies_x_forwarded_for_is_ignored(db_url: str) -> None:
    async with _daemon(db_url, CONTACTD_PHONE__BOOKINGS_PER_ADDRESS_PER_HOUR="1") as client:
        window = await _window(client)
        statuses = []
        for n in range(2):
            response = await client.post(
                "/api/callbacks",
                json=_booking(window, f"201234{70 + n}", f"form-noproxy-{n}"),
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
            )
            statuses.append(response.status)
        assert statuses == [202, 429]  # both counted as the peer's own address
