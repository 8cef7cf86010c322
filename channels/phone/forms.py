"""Twilio's webhook forms, each read once into a typed value.

Twilio posts a form with every webhook; which fields it holds depends on what the webhook
reports. The handlers (channels/phone/voice.py, channels/phone/dialing.py) read only these
values, never the form's keys. The signature is checked before, over the raw form
(`Voice._signed`), so every value here is text Twilio signed. A field Twilio left out reads
as "": a handler decides what an empty or unknown value means, as it does for any value.
"""

from __future__ import annotations

from typing import Self

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

# How a call or a dialled leg ended without anyone talking (CallStatus, DialCallStatus).
NOT_ANSWERED = frozenset({"busy", "no-answer", "failed", "canceled"})


class CallForm(BaseModel):
    """What every voice webhook carries: the call and who is calling. Read as such by
    /twilio/voice (a call comes in) and /twilio/wait (the queue's wait document)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    call_sid: str = Field("", alias="CallSid")
    caller: str = Field("", alias="From")  # as Twilio shows it: a hidden number is a word

    @classmethod
    async def read(cls, request: web.Request) -> Self:
        # aiohttp keeps the form it read for the signature check: it is not read twice.
        # The first value of a repeated field, as form.get gives. Every value is text: the
        # signature check cannot sign an uploaded file.
        fields: dict[str, str] = {}
        for key, value in (await request.post()).items():
            if isinstance(value, str):
                fields.setdefault(key, value)
        return cls.model_validate(fields)


class Gathered(CallForm):
    """A <Gather>'s answer: the keys the caller pressed, "" for none (/twilio/menu,
    /twilio/closed, /twilio/keep-place)."""

    digits: str = Field("", alias="Digits")


class LeftQueue(CallForm):
    """An <Enqueue>'s action: why the caller left the queue (/twilio/left). "bridged" and
    "redirected" mean put through or moved by us; "leave", "hangup", "queue-full",
    "error" and "system-error" are Twilio's other answers."""

    queue_result: str = Field("", alias="QueueResult")


class CallStatus(CallForm):
    """A status callback: the call's state (/twilio/status for incoming calls,
    /twilio/dial-status for the first leg of a dialled callback)."""

    call_status: str = Field("", alias="CallStatus")

    @property
    def ended(self) -> bool:
        return self.call_status == "completed" or self.not_answered

    @property
    def not_answered(self) -> bool:
        return self.call_status in NOT_ANSWERED


class DialResult(CallForm):
    """A <Dial>'s action: how the dialled leg ended (/twilio/dial-result for a callback's
    second leg, /twilio/connect-result for the caseworker's leg of a waiting call)."""

    dial_call_status: str = Field("", alias="DialCallStatus")

    @property
    def not_answered(self) -> bool:
        return self.dial_call_status in NOT_ANSWERED

    @property
    def completed(self) -> bool:
        return self.dial_call_status == "completed"
