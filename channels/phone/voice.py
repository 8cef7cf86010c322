"""The hotline's IVR: Twilio's voice webhooks, answered with TwiML.

A call comes in at /twilio/voice. When the line is open, the caller picks a case type and
hears its processing goal in their language, then waits in a live queue, hearing their place
and expected wait; above a set wait they may press 1 to be called back instead, keeping their
place. When the line is closed they hear when it opens and may ask to be called back then.
The line speaks the agency's first language and offers the others after its menu (and its
closed offer), each said in itself, all on one key: it switches to the only other language,
or opens a short menu of them, each on its own key (answered with `pick=language`), so that
the case-type menu keeps every other key. The language travels in every URL (`lang`).

Every request must carry Twilio's signature of the public URL and form (403 otherwise).
Every handler is idempotent by CallSid: a retried or replayed webhook finds the contact it
made before, so nothing is created twice and an ended call gets only <Hangup/>.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from aiohttp import web
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

from channels.phone import booking, errors, forms, numbers, voices
from channels.phone.config import PhoneSetup
from channels.phone.prompts import Prompts, spelled
from channels.ports import CallsPort, OutboxItem
from routing.contact import CaseTypeSource, Channel, Contact, Language, NewContact, State

log = structlog.get_logger(__name__)

MENU_TRIES = 2  # invalid or no choice this often: the caller goes to general questions
ENDED = {State.DONE, State.ABANDONED, State.CANCELLED}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Voice:
    def __init__(
        self,
        setup: PhoneSetup,
        calls: CallsPort,
        *,
        clock: Callable[[], datetime],
    ) -> None:
        self._setup = setup
        self._calls = calls
        self._clock = clock
        self._validator = RequestValidator(setup.auth_token) if setup.auth_token else None
        # The case types a caller can choose: their processing goal is said, and goes by SMS
        # with the checklist.
        self._case_types = {case_type.code: case_type for _, case_type in setup.menu}
        self._general = self._case_types.get("general") or setup.menu[0][1]

    def app(self) -> web.Application:
        """The webhooks as a sub-application, to mount at /twilio."""
        app = web.Application(middlewares=[self._signed])
        app.router.add_post("/voice", self.incoming)
        app.router.add_post("/menu", self.menu)
        app.router.add_post("/closed", self.closed)
        app.router.add_post("/wait", self.wait)
        app.router.add_post("/keep-place", self.keep_place)
        app.router.add_post("/left", self.left)
        app.router.add_post("/status", self.status)
        return app

    @web.middleware
    async def _signed(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Every webhook under /twilio: refused unless Twilio signed it (the daemon's error
        middleware answers the refusal), and hung up on if it holds a NUL."""
        if self._validator is None:
            raise errors.NotConfigured("CONTACTD_TWILIO_AUTH_TOKEN is not set")
        try:
            form = await request.post()
        except (ValueError, LookupError):  # not UTF-8, or an unknown charset: not Twilio's
            log.warning("twilio.bad_signature", signed=False)
            raise errors.BadSignature("the request is not signed by Twilio") from None
        base = self._setup.public_url or f"{request.scheme}://{request.host}"
        url = base.rstrip("/") + request.raw_path  # raw: as signed, not decoded
        signature = request.headers.get("X-Twilio-Signature", "")
        if not self._validator.validate(url, form, signature):
            log.warning("twilio.bad_signature", signed=bool(signature))
            raise errors.BadSignature("the request is not signed by Twilio")
        if any("\x00" in str(v) for v in (*form.values(), *request.query.values())):
            # Twilio never sends a NUL, and PostgreSQL stores none: end the call politely.
            log.warning("twilio.unreadable")
            hang_up = VoiceResponse()
            hang_up.hangup()
            return web.Response(text=str(hang_up), content_type="text/xml")
        return await handler(request)

    # --- the call flow --------------------------------------------------------------------

    async def incoming(self, request: web.Request) -> web.Response:
        """A call comes in: the menu, or the closed line's message."""
        form, lang = await forms.CallForm.read(request), self._lang(request)
        if not form.call_sid:
            return self._sorry(lang)
        known = await self._calls.call(form.call_sid)
        if known is not None:  # a retried or replayed webhook: carry on where the call is
            return self._resume(known, lang)
        now = self._clock()
        if not self._setup.calendar.is_open(now):
            return self._closed_message(lang, now)
        return self._menu(lang, then="queue", tries=0)

    async def menu(self, request: web.Request) -> web.Response:
        """The case type chosen: the call joins the queue, or (the line closed) is booked as
        a callback for when it opens. Also the language key's menu answered (`pick=language`):
        the case-type menu in the language chosen."""
        form, lang = await forms.Gathered.read(request), self._lang(request)
        digit = form.digits
        then = "callback" if request.query.get("then") == "callback" else "queue"
        tries = _int(request.query.get("tries"))
        chosen = None
        if request.query.get("pick") == "language":
            other = self._setup.language_of(digit)
            if other is not None:  # the menu again, in that language; both tries anew
                return self._menu(other, then=then, tries=0)
            # No language chosen: a wrong key of the menu, which the caller hears again.
        elif digit == self._setup.language_key and (others := self._setup.others(lang)):
            if len(others) == 1:  # one other language: nothing to choose, so it at once
                return self._menu(others[0], then=then, tries=0)
            here = f"/twilio/menu?lang={lang}&then={then}&tries={tries}"
            return self._language_menu(others, f"{here}&pick=language")
        else:
            chosen = dict(self._setup.menu).get(digit)
        if chosen is None and tries + 1 < MENU_TRIES:
            response = self._response()
            self._say(response, lang, self._setup.prompts.say(lang, "no_choice"))
            return self._twiml(self._menu_into(response, lang, then=then, tries=tries + 1))
        case_type = chosen.code if chosen else "general"
        known = await self._calls.call(form.call_sid)
        if known is not None:  # the choice was made before (a replay): nothing new
            return self._resume(known, lang)
        if then == "callback":
            return await self._book_when_open(form, lang, case_type)
        return await self._queue_call(form, lang, case_type)

    async def closed(self, request: web.Request) -> web.Response:
        """The closed line's offer answered: 1 for a callback (the menu, then /menu), the
        language key to hear it in another language. Also the language key's menu answered
        (`pick=language`): the closed message in the language chosen, or again in this one."""
        form, lang = await forms.Gathered.read(request), self._lang(request)
        now = self._clock()
        if request.query.get("pick") == "language":
            other = self._setup.language_of(form.digits)
            if other is not None:
                return self._closed_message(other, now)
            response = self._response()
            self._say(response, lang, self._setup.prompts.say(lang, "no_choice"))
            return self._twiml(self._closed_into(response, lang, now))
        if form.digits == "1":
            return self._menu(lang, then="callback", tries=0)
        others = self._setup.others(lang)
        if form.digits == self._setup.language_key and others:
            if len(others) == 1:
                return self._closed_message(others[0], now)
            return self._language_menu(others, f"/twilio/closed?lang={lang}&pick=language")
        return self._hangup(lang, goodbye=True)

    async def wait(self, request: web.Request) -> web.Response:
        """The queue's wait document: Twilio asks again each time it has been played."""
        form, lang = await forms.CallForm.read(request), self._lang(request)
        contact = await self._calls.call(form.call_sid)
        response = self._response()
        if contact is None or contact.state is not State.QUEUED:
            response.pause(length=5)  # being connected, or not ours: say nothing
            return self._twiml(response)
        place = await self._calls.place(contact)
        self._say(
            response,
            lang,
            _place_text(self._setup.prompts, lang, place.position, place.estimated_wait_seconds),
        )
        if place.estimated_wait_seconds > self._setup.callback_offer_after_seconds:
            number = self._callable(form.caller)
            if number is not None:
                gather = response.gather(
                    input="dtmf",
                    num_digits=1,
                    timeout=5,
                    action=f"/twilio/keep-place?lang={lang}",
                    method="POST",
                )
                offer = self._setup.prompts.say(lang, "offer", number=numbers.spoken(number))
                self._say(gather, lang, offer)
        response.pause(length=20)
        return self._twiml(response)

    async def keep_place(self, request: web.Request) -> web.Response:
        """The wait's offer taken: the call becomes a callback that keeps its place, and the
        caller leaves the queue (then /left, with QueueResult "leave")."""
        form, lang = await forms.Gathered.read(request), self._lang(request)
        contact = await self._calls.call(form.call_sid)
        number = self._callable(form.caller)
        response = self._response()
        if form.digits != "1" or contact is None or number is None:
            response.redirect(f"/twilio/wait?lang={lang}", method="POST")
            return self._twiml(response)
        contact = await self._calls.keep_place(contact, number, self._confirmation(number))
        if contact.channel is not Channel.CALLBACK:  # being put through right now: wait on
            response.redirect(f"/twilio/wait?lang={lang}", method="POST")
            return self._twiml(response)
        self._say(response, lang, self._kept_text(lang, contact, number))
        response.leave()
        return self._twiml(response)

    async def left(self, request: web.Request) -> web.Response:
        """The caller left the queue: hung up, pressed 1, was connected, or Twilio failed."""
        form, lang = await forms.LeftQueue.read(request), self._lang(request)
        result = form.queue_result
        contact = await self._calls.call(form.call_sid)
        response = self._response()
        if contact is None or result.startswith(("bridg", "redirected")):
            return self._twiml(response)  # put through, or moved by us (to an agent)
        if result == "leave":  # pressed 1: the callback is booked and was confirmed
            response.hangup()
            return self._twiml(response)
        if result == "hangup":
            await self._calls.hung_up(contact, why="hung up in the queue")
            return self._twiml(response)
        # queue-full, error, system-error: Twilio could not keep the caller waiting.
        # Nothing is lost: a caller we can call back keeps their place as a callback.
        log.error("twilio.queue_failed", result=result, reference=contact.reference)
        number = self._callable(form.caller)
        if number is None or contact.state is not State.QUEUED:
            await self._calls.hung_up(contact, why=f"queue {result}")
            return self._sorry(lang)
        contact = await self._calls.keep_place(contact, number, self._confirmation(number))
        self._say(response, lang, self._kept_text(lang, contact, number))
        response.hangup()
        return self._twiml(response)

    async def status(self, request: web.Request) -> web.Response:
        """Call status callbacks: a call that ends while waiting is abandoned."""
        form = await forms.CallStatus.read(request)
        if form.ended:
            contact = await self._calls.call(form.call_sid)
            if contact is None:
                log.info("twilio.status_unknown_call", status=form.call_status)
            elif contact.channel is Channel.CALL:
                await self._calls.hung_up(contact, why=f"call {form.call_status}")
        return self._twiml(self._response())

    # --- steps ----------------------------------------------------------------------------

    def _resume(self, known: Contact, lang: str) -> web.Response:
        """A webhook for a call we know: waiting calls wait on; one that ended or became a
        callback has nothing more to do on this line."""
        if known.channel is Channel.CALL and known.state not in ENDED:
            return self._enqueue(known, lang)
        return self._hangup(lang)

    async def _queue_call(self, form: forms.CallForm, lang: str, case_type: str) -> web.Response:
        language, client_language = _languages(lang)
        contact, _ = await self._calls.submit(
            NewContact(
                channel=Channel.CALL,
                language=language,
                client_language=client_language,
                case_type=case_type,
                case_type_source=CaseTypeSource.IVR,
                external_id=form.call_sid,
                client_address=self._number(form.caller),
            ),
            actor="twilio",
        )
        if contact.state in ENDED:
            return self._hangup(lang)
        return self._enqueue(contact, lang, goal=self._goal(lang, case_type))

    async def _book_when_open(
        self, form: forms.CallForm, lang: str, case_type: str
    ) -> web.Response:
        goal = self._goal(lang, case_type)  # said before the goodbye, whatever follows
        try:
            number = numbers.normalise(form.caller, self._setup.region, self._setup.countries)
        except numbers.BadNumber as exc:
            why = self._setup.prompts.why(lang, exc.reason)
            return self._hangup(lang, goal, self._setup.prompts.say(lang, "hidden", why=why))
        opens = self._setup.calendar.next_open(self._clock())
        language, client_language = _languages(lang)
        contact, created = await self._calls.book_by_phone(
            NewContact(
                channel=Channel.CALLBACK,
                language=language,
                client_language=client_language,
                case_type=case_type,
                case_type_source=CaseTypeSource.IVR,
                external_id=form.call_sid,
                client_address=number,
                # Not dialled before the line opens, even if someone is at a desk.
                not_before=opens,
            ),
            self._confirmation(number, opens=opens),
        )
        if not created:  # a callback to this number waits already: that one stands
            return self._hangup(lang, goal, self._kept_text(lang, contact, number))
        text = self._setup.prompts.say(
            lang,
            "booked",
            number=numbers.spoken(number),
            reference=spelled(contact.reference),
        )
        return self._hangup(lang, goal, text)

    def _goal(self, lang: str, case_type: str) -> str | None:
        """What the agency promises for the chosen case type, in the caller's language: its
        processing goal and where the checklist is. None for a case type without a goal
        (general questions): nothing is said of it."""
        chosen = self._case_types.get(case_type)
        if chosen is None or chosen.processing_goal is None:
            return None
        promise = self._setup.wording.promise("phone", lang, chosen)
        return self._setup.prompts.say(lang, "goal", **promise)

    def _confirmation(
        self, number: str, *, opens: datetime | None = None
    ) -> Callable[[Contact], OutboxItem]:
        """The confirmation SMS of a callback booked on the phone: its window when it has one
        (a closed-line booking: from the opening to its due time, if on one day), else when
        the line opens, else (a kept place) "today, as soon as it is your turn"."""

        def sms(contact: Contact) -> OutboxItem:
            case_type = self._case_types.get(contact.case_type, self._general)
            window = None
            if opens is not None and _same_day(opens, contact.due_at, self._setup.timezone):
                window = booking.Window(opens, contact.due_at)
            return booking.confirmation(
                contact, number, case_type, self._setup, window=window, opens=opens
            )

        return sms

    # --- TwiML ----------------------------------------------------------------------------

    def _menu(self, lang: str, *, then: str, tries: int) -> web.Response:
        response = self._response()
        self._say(response, lang, self._setup.prompts.say(lang, "welcome"))
        return self._twiml(self._menu_into(response, lang, then=then, tries=tries))

    def _menu_into(self, response: VoiceResponse, lang: str, *, then: str, tries: int) -> Any:
        gather = response.gather(
            input="dtmf",
            num_digits=1,
            timeout=6,
            action=f"/twilio/menu?lang={lang}&then={then}&tries={tries}",
            method="POST",
        )
        for digit, case_type in self._setup.menu:
            name = case_type.name(lang)
            self._say(gather, lang, self._setup.prompts.say(lang, "choose", digit=digit, name=name))
        self._offer_languages(gather, lang)
        # No key pressed: the menu's action is asked without Digits, which counts as a try.
        response.redirect(f"/twilio/menu?lang={lang}&then={then}&tries={tries}", method="POST")
        return response

    def _closed_message(self, lang: str, now: datetime) -> web.Response:
        response = self._response()
        self._say(response, lang, self._setup.prompts.say(lang, "welcome"))
        return self._twiml(self._closed_into(response, lang, now))

    def _closed_into(self, response: VoiceResponse, lang: str, now: datetime) -> Any:
        opens = self._setup.calendar.next_open(now)
        if opens is not None:
            local = opens.astimezone(self._setup.timezone)
            when = self._setup.prompts.when(lang, local, now.astimezone(self._setup.timezone))
            self._say(response, lang, self._setup.prompts.say(lang, "closed", when=when))
        gather = response.gather(
            input="dtmf", num_digits=1, timeout=6, action=f"/twilio/closed?lang={lang}"
        )
        self._say(gather, lang, self._setup.prompts.say(lang, "closed_offer"))
        self._offer_languages(gather, lang)
        self._say(response, lang, self._setup.prompts.say(lang, "goodbye"))
        response.hangup()
        return response

    def _offer_languages(self, gather: Any, lang: str) -> None:
        """The other languages the line offers, each said in itself with its own voice and
        all on the one language key ("For English, press 9." in English, then the Arabic
        sentence in Arabic, ...): a caller who does not understand this language hears their
        own. The case-type menu keeps every other key."""
        key = self._setup.language_key
        for other in self._setup.others(lang):
            self._say(gather, other, self._setup.prompts.say(other, "language", digit=key))

    def _language_menu(self, others: tuple[str, ...], action: str) -> web.Response:
        """The language key pressed, with several other languages on offer: each said in
        itself on its own key of language_digits, answered at `action` (the menu's or the
        closed line's, with `pick=language`). No key is asked there too, as a wrong key."""
        response = self._response()
        gather = response.gather(
            input="dtmf", num_digits=1, timeout=6, action=action, method="POST"
        )
        for other in others:
            digit = self._setup.language_digits[other]
            self._say(gather, other, self._setup.prompts.say(other, "language", digit=digit))
        response.redirect(action, method="POST")
        return self._twiml(response)

    def _enqueue(self, contact: Contact, lang: str, *, goal: str | None = None) -> web.Response:
        response = self._response()
        if goal is not None:  # a new choice: the promise first, then the wait
            self._say(response, lang, goal)
        name = self._setup.queue_names.get(contact.queue, {}).get(lang, contact.queue)
        self._say(response, lang, self._setup.prompts.say(lang, "queued", queue=name))
        enqueue(response, contact.queue, lang)
        return self._twiml(response)

    def _kept_text(self, lang: str, contact: Contact, number: str) -> str:
        reference = spelled(contact.reference)
        return self._setup.prompts.say(
            lang, "kept", number=numbers.spoken(number), reference=reference
        )

    def _hangup(self, lang: str, *said: str | None, goodbye: bool = False) -> web.Response:
        """Say what is given (None: nothing), or just goodbye, and hang up."""
        response = self._response()
        texts = [text for text in said if text]
        if goodbye and not texts:
            texts = [self._setup.prompts.say(lang, "goodbye")]
        for text in texts:
            self._say(response, lang, text)
        response.hangup()
        return self._twiml(response)

    def _sorry(self, lang: str) -> web.Response:
        return self._hangup(lang, self._setup.prompts.say(lang, "sorry"))

    def _lang(self, request: web.Request) -> str:
        """The caller's language, carried in every URL: one the line speaks, else its own."""
        lang = request.query.get("lang", "")
        return lang if lang in self._setup.languages else self._setup.line_language

    def _say(self, verb: Any, lang: str, text: str) -> None:
        say(verb, self._setup, lang, text)

    def _number(self, value: str) -> str | None:
        """The caller's number as it is recorded: any country may call in."""
        try:
            return numbers.normalise(value, self._setup.region)
        except numbers.BadNumber:
            return None

    def _callable(self, value: str) -> str | None:
        """The caller's number if we may call it back: only the allowed countries'."""
        try:
            return numbers.normalise(value, self._setup.region, self._setup.countries)
        except numbers.BadNumber:
            return None

    @staticmethod
    def _response() -> VoiceResponse:
        return VoiceResponse()

    @staticmethod
    def _twiml(response: VoiceResponse) -> web.Response:
        return twiml(response)


def twiml(response: VoiceResponse) -> web.Response:
    return web.Response(text=str(response), content_type="text/xml")


def say(verb: Any, setup: PhoneSetup, lang: str, text: str) -> None:
    """Say `text` in `lang`: Twilio's tag for it, and the configured voice or Twilio's (the
    tag and the voice must agree, or Twilio refuses the <Say>)."""
    voice = setup.voices.get(lang) or voices.default(lang)
    verb.say(text, language=voices.tag(lang), voice=voice)


def enqueue(response: VoiceResponse, queue: str, lang: str) -> None:
    """Wait in Twilio's queue of that name, with our wait and leave documents."""
    response.enqueue(
        queue,
        wait_url=f"/twilio/wait?lang={lang}",
        wait_url_method="POST",
        action=f"/twilio/left?lang={lang}",
        method="POST",
    )


def _languages(lang: str) -> tuple[Language, str | None]:
    """A new contact's `language`, by which it is routed to caseworkers (Danish or English,
    the staff's), and its `client_language` when the caller's is another: an Arabic caller is
    routed in English, and what is written to them (the confirmation SMS) is in Arabic."""
    if lang in (Language.DA, Language.EN):
        return Language(lang), None
    return Language.EN, lang


def _int(value: str | None) -> int:
    return int(value) if value and value.isdigit() and len(value) < 3 else 0


def _place_text(prompts: Prompts, lang: str, position: int, wait_seconds: int) -> str:
    minutes = round(wait_seconds / 60)
    if minutes < 1:
        wait = prompts.say(lang, "wait_short")
    elif minutes == 1:
        wait = prompts.say(lang, "wait_one")
    else:
        wait = prompts.say(lang, "wait", minutes=minutes)
    return f"{prompts.say(lang, 'place', position=position)} {wait}"


def _same_day(start: datetime, end: datetime, timezone: ZoneInfo) -> bool:
    return start < end and start.astimezone(timezone).date() == end.astimezone(timezone).date()
