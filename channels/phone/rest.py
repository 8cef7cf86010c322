"""Twilio's REST API through the twilio package: SMS, the calls placed when agents dial
back or take a waiting caller, the conferences live calls are talked in, and what Twilio
knows of the calls an interrupted send may have placed.

The library's own async HTTP client is not used: it ignores its timeout, warns under
aiohttp 3.14 (BasicAuth) and retries POSTs, which could send an SMS or place a call twice.
This one sends each request once, with a timeout, to Twilio or (in tests) to a mock of
Twilio's API at `api_url`. What went wrong is sorted into transient, permanent and auth
errors, which the outbox treats differently.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from twilio.base import values
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http import AsyncHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from channels.ports import Failure, SendError

_log = logging.getLogger("twilio.http")

# A call in one of these states may still ring or talk (Twilio's call resource, Status).
LIVE = frozenset({"queued", "ringing", "in-progress"})


@dataclasses.dataclass(frozen=True, kw_only=True)
class CallSeen:
    """A call as Twilio lists it: its sid, status and parent (the call whose <Dial> placed
    it; None for a call placed through this API), nothing of who it was with."""

    sid: str
    status: str
    parent: str | None


class _Http(AsyncHttpClient):  # type: ignore[misc]  # twilio ships no type information
    def __init__(self, api_url: str, timeout: float) -> None:
        super().__init__(_log, True, timeout)
        self._base = urlsplit(api_url)
        self._session: aiohttp.ClientSession | None = None

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - twilio's interface
        allow_redirects: bool = False,
    ) -> Response:
        headers = dict(headers or {})
        if auth is not None:
            basic = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {basic}"
        parts = urlsplit(url)
        target = urlunsplit(
            (self._base.scheme, self._base.netloc, self._base.path.rstrip("/") + parts.path,
             parts.query, "")
        )  # fmt: skip
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        async with self._session.request(
            method.upper(),
            target,
            params=params,
            data=data,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout or self.timeout),
            allow_redirects=allow_redirects,
        ) as response:
            return Response(response.status, await response.text(), response.headers)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class TwilioRest:
    def __init__(
        self, *, account_sid: str, auth_token: str, api_url: str, timeout: float = 10
    ) -> None:
        self._http = _Http(api_url, timeout)
        self._client = Client(account_sid, auth_token, http_client=self._http)

    async def send_sms(self, *, to: str, from_: str, body: str, status_callback: str | None) -> str:
        """Send one SMS; its Twilio sid. Raises SendError."""
        try:
            message = await self._client.messages.create_async(
                to=to, from_=from_, body=body, status_callback=status_callback
            )
        except Exception as exc:
            raise classify(exc) from exc
        return str(message.sid)

    async def place_call(
        self, *, to: str, from_: str, url: str, status_callback: str, ring_seconds: int
    ) -> str:
        """Place one call whose TwiML is at `url`; its Twilio sid. Raises SendError."""
        try:
            call = await self._client.calls.create_async(
                to=to,
                from_=from_,
                url=url,
                method="POST",
                status_callback=status_callback,
                status_callback_method="POST",
                timeout=ring_seconds,
            )
        except Exception as exc:
            raise classify(exc) from exc
        return str(call.sid)

    async def redirect_call(self, *, sid: str, url: str) -> str:
        """Move a live call (out of its queue) to the TwiML at `url`. Raises SendError."""
        try:
            call = await self._client.calls(sid).update_async(url=url, method="POST")
        except Exception as exc:
            raise classify(exc) from exc
        return str(call.sid)

    async def add_participant(
        self,
        *,
        room: str,
        to: str,
        from_: str,
        label: str,
        status_callback: str,
        ring_seconds: int,
    ) -> str:
        """Dial `to` into the conference named `room` (made if it does not exist yet), as a
        participant whose leaving ends it; its call sid. Raises SendError."""
        try:
            participant = await self._client.conferences(room).participants.create_async(
                from_=from_,
                to=to,
                label=label,
                status_callback=status_callback,
                status_callback_method="POST",
                status_callback_event=["answered", "completed"],
                timeout=ring_seconds,
                start_conference_on_enter=True,
                end_conference_on_exit=True,
                beep="false",
                early_media=False,
            )
        except Exception as exc:
            raise classify(exc) from exc
        return str(participant.call_sid)

    async def conference(self, room: str) -> str | None:
        """The sid of the conference named `room` while it lasts; None when it has ended or
        never began. Raises SendError."""
        try:
            page = await self._client.conferences.page_async(
                friendly_name=room, status="in-progress", page_size=1
            )
            found = list(page)
        except Exception as exc:
            raise classify(exc) from exc
        return str(found[0].sid) if found else None

    async def participant(self, conference: str, label: str) -> str | None:
        """The call sid of the participant `label` of a conference; None if not in it."""
        try:
            found = await self._client.conferences(conference).participants(label).fetch_async()
        except Exception as exc:
            if _not_found(exc):
                return None
            raise classify(exc) from exc
        return str(found.call_sid)

    async def update_participant(
        self,
        conference: str,
        label: str,
        *,
        hold: bool | None = None,
        end_conference_on_exit: bool | None = None,
    ) -> bool:
        """Hold or unhold a participant, or say whether their leaving ends the conference;
        False if they are not in it (any more). Raises SendError."""
        changes = {"hold": hold, "end_conference_on_exit": end_conference_on_exit}
        try:
            await (
                self._client.conferences(conference)
                .participants(label)
                .update_async(**{k: values.unset if v is None else v for k, v in changes.items()})
            )
        except Exception as exc:
            if _not_found(exc):
                return False
            raise classify(exc) from exc
        return True

    async def remove_participant(self, conference: str, label: str) -> bool:
        """Hang up a participant's leg; False if they were not in the conference."""
        try:
            await self._client.conferences(conference).participants(label).delete_async()
        except Exception as exc:
            if _not_found(exc):
                return False
            raise classify(exc) from exc
        return True

    async def calls(
        self,
        *,
        to: str | None = None,
        from_: str | None = None,
        parent: str | None = None,
        limit: int = 20,
    ) -> list[CallSeen]:
        """The most recent calls (newest first) to `to` from `from_`, or the legs that call
        `parent` dialled: one page of Twilio's Calls resource. Raises SendError."""
        filters = {"to": to, "from_": from_, "parent_call_sid": parent}
        try:
            # One page, not list_async: that follows next_page_uri for as long as there is one.
            page = await self._client.calls.page_async(
                **{k: values.unset if v is None else v for k, v in filters.items()},
                page_size=limit,
            )
            found = list(page)
        except Exception as exc:
            raise classify(exc) from exc
        return [
            CallSeen(sid=str(c.sid), status=str(c.status), parent=c.parent_call_sid or None)
            for c in found
        ]

    async def close(self) -> None:
        await self._http.close()


def _not_found(exc: BaseException) -> bool:
    return isinstance(exc, TwilioRestException) and exc.status == 404


# Twilio error codes that name a problem with the message itself (www.twilio.com/docs/api/errors).
_PERMANENT_CODES = {21211, 21214, 21217, 21219, 21408, 21610, 21612, 21614, 21617}


def classify(exc: BaseException) -> SendError:
    if isinstance(exc, TwilioRestException):
        return _answered(int(exc.status or 0), exc.code)
    # A page of a list Twilio did not give: the library keeps its answer beside the message.
    answer = exc.args[1] if isinstance(exc, TwilioException) and len(exc.args) > 1 else None
    if isinstance(answer, Response):
        return _answered(int(answer.status_code), None)
    if isinstance(exc, TimeoutError | aiohttp.ClientError | OSError):
        return SendError(Failure.TRANSIENT, f"Twilio not reached: {type(exc).__name__}")
    if isinstance(exc, TwilioException):
        return SendError(Failure.TRANSIENT, f"Twilio: {type(exc).__name__}")
    return SendError(Failure.TRANSIENT, f"{type(exc).__name__}")


def _answered(status: int, code: int | None) -> SendError:
    if status in {401, 403}:
        return SendError(Failure.AUTH, f"Twilio refused our credentials ({status})")
    if status == 429 or status >= 500:
        return SendError(Failure.TRANSIENT, f"Twilio answered {status}")
    if code in _PERMANENT_CODES or 400 <= status < 500:
        return SendError(Failure.PERMANENT, f"Twilio refused it: {status} code {code}")
    return SendError(Failure.TRANSIENT, f"Twilio answered {status}")
