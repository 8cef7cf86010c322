"""The outbox's senders of live calls' conference steps (channels/phone/conference.py): the
caseworker's phone dialled in, the caller moved, a colleague consulted, a consultation
ended. Each placing sender can be asked what a send that died mid-request did
(outbox.Traceable): a phone must not ring twice, a caller not be moved twice."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from channels.phone.conference import CALLER, leg_callback, redirect_url
from channels.phone.rest import LIVE, TwilioRest
from channels.ports import Failure, SendError


class PlaceLeg:
    """Dials a caseworker ("connect") or a colleague consulted ("consult") into a live
    call's conference. A consultation first holds the caller, and the caseworker's leaving
    stops ending the conference: they may hang up to hand the caller over."""

    def __init__(self, rest: TwilioRest, public_url: str, number: str, ring_seconds: int) -> None:
        self._rest = rest
        self._public_url = public_url
        self._number = number
        self._ring_seconds = ring_seconds

    async def __call__(self, payload: Mapping[str, Any], key: str) -> str:
        if "agent" in payload:  # a consultation: the caseworker's conference must be on
            conference = await _conference(self._rest, payload["room"])
            await self._rest.update_participant(conference, CALLER, hold=True)
            await self._rest.update_participant(
                conference, payload["agent"], end_conference_on_exit=False
            )
        return await self._rest.add_participant(
            room=payload["room"],
            to=payload["to"],
            from_=self._number,
            label=payload["label"],
            status_callback=leg_callback(self._public_url, payload),
            ring_seconds=self._ring_seconds,
        )

    async def traces(self, payload: Mapping[str, Any]) -> list[str]:
        """Our latest calls placed through the API to the phone the message dials."""
        calls = await self._rest.calls(to=payload["to"], from_=self._number)
        return [c.sid for c in calls if c.parent is None and c.status in LIVE]


class Redirect:
    """Moves a live caller: into the conference of the caseworker who answered, or out of
    it (a transfer) to wherever the call is then (/twilio/connect)."""

    def __init__(self, rest: TwilioRest, public_url: str) -> None:
        self._rest = rest
        self._public_url = public_url

    async def __call__(self, payload: Mapping[str, Any], key: str) -> str:
        return await self._rest.redirect_call(
            sid=payload["call_sid"], url=redirect_url(self._public_url, payload)
        )

    async def traces(self, payload: Mapping[str, Any]) -> list[str]:
        """The caller in the conference they were to be moved into: the move happened. A
        transfer's move leaves nothing to find: it is made again, which only puts the caller
        where the call is (/twilio/connect)."""
        if "room" not in payload:
            return []
        conference = await self._rest.conference(payload["room"])
        found = await self._rest.participant(conference, CALLER) if conference else None
        return [found] if found else []


class EndConsult:
    """Takes the hold off the caller; removes the caseworker (completed: the colleague goes
    on, their leaving now ends the call) or the colleague (cancelled: the caseworker's
    leaving ends it again). Each step may be made twice; a conference that ended meanwhile
    needs none."""

    def __init__(self, rest: TwilioRest) -> None:
        self._rest = rest

    async def __call__(self, payload: Mapping[str, Any], key: str) -> str:
        conference = await self._rest.conference(payload["room"])
        if conference is None:
            return "ended"
        stays, leaves = payload["consulted"], payload["agent"]
        if payload["outcome"] != "completed":
            stays, leaves = leaves, stays
        await self._rest.update_participant(conference, stays, end_conference_on_exit=True)
        await self._rest.update_participant(conference, CALLER, hold=False)
        await self._rest.update_participant(conference, leaves, end_conference_on_exit=False)
        await self._rest.remove_participant(conference, leaves)
        return conference


async def _conference(rest: TwilioRest, room: str) -> str:
    conference = await rest.conference(room)
    if conference is None:
        raise SendError(Failure.PERMANENT, "the call's conference has ended")
    return conference
