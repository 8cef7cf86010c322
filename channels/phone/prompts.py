"""What the IVR says, in Danish and English. Kept apart from the call flow so the wording
can be changed without touching it."""

from __future__ import annotations

from datetime import datetime

TEXTS = {
    "da": {
        "welcome": "Velkommen til Udlændingestyrelsen.",
        "choose": "Tryk {digit} for {name}.",
        "no_choice": "Vi modtog ikke et gyldigt valg.",
        "closed": "Telefonen er lukket nu. Vi åbner igen {when}.",
        "closed_offer": "Tryk 1, hvis vi skal ringe dig op, når vi har åbnet.",
        "queued": "Tak. Du er nu i kø til {queue}.",
        "place": "Du er nummer {position} i køen.",
        "wait": "Den forventede ventetid er cirka {minutes} minutter.",
        "wait_one": "Den forventede ventetid er cirka et minut.",
        "wait_short": "Den forventede ventetid er under et minut.",
        "offer": (
            "Tryk 1 og læg på, så ringer vi dig op på {number}, og du beholder din plads i køen."
        ),
        "kept": "Tak. Vi ringer dig op på {number}. Dit referencenummer er {reference}. Farvel.",
        "booked": (
            "Tak. Vi ringer dig op på {number}, når vi har åbnet. "
            "Dit referencenummer er {reference}. Farvel."
        ),
        "hidden": (
            "Vi kan ikke ringe dig op, fordi {why}. "
            "Du kan bestille et opkald på vores hjemmeside. Farvel."
        ),
        "sorry": "Vi beklager, der opstod en fejl. Prøv igen senere. Farvel.",
        "goodbye": "Tak for opkaldet. Farvel.",
        "connecting": "Du bliver nu stillet om til en sagsbehandler.",
        "transferred": "Du bliver nu stillet videre til {queue}. Bliv venligst i røret.",
        "today": "i dag klokken {time}",
        "tomorrow": "i morgen klokken {time}",
        "weekday": "{day} klokken {time}",
        "days": "mandag tirsdag onsdag torsdag fredag lørdag søndag",
    },
    "en": {
        "welcome": "Welcome to the Danish Immigration Service.",
        "english": "For English, press {digit}.",
        "choose": "Press {digit} for {name}.",
        "no_choice": "We did not receive a valid choice.",
        "closed": "The line is closed now. We open again {when}.",
        "closed_offer": "Press 1 if you want us to call you back when we have opened.",
        "queued": "Thank you. You are now in the queue for {queue}.",
        "place": "You are number {position} in the queue.",
        "wait": "The expected waiting time is about {minutes} minutes.",
        "wait_one": "The expected waiting time is about one minute.",
        "wait_short": "The expected waiting time is less than a minute.",
        "offer": (
            "Press 1 and hang up, and we will call you back on {number}; "
            "you keep your place in the queue."
        ),
        "kept": "Thank you. We will call you on {number}. Your reference is {reference}. Goodbye.",
        "booked": (
            "Thank you. We will call you on {number} when we have opened. "
            "Your reference is {reference}. Goodbye."
        ),
        "hidden": "We cannot call you back because {why}. You can book a call on our website. "
        "Goodbye.",
        "sorry": "We are sorry, something went wrong. Please try again later. Goodbye.",
        "goodbye": "Thank you for calling. Goodbye.",
        "connecting": "You are now being put through to a caseworker.",
        "transferred": "You are now being transferred to {queue}. Please stay on the line.",
        "today": "today at {time}",
        "tomorrow": "tomorrow at {time}",
        "weekday": "on {day} at {time}",
        "days": "Monday Tuesday Wednesday Thursday Friday Saturday Sunday",
    },
}
# BadNumber's reasons, as the IVR says them.
WHY = {
    "da": {
        "hidden": "dit nummer er skjult",
        "not_a_number": "vi ikke kan læse dit nummer",
        "invalid": "dit nummer ikke er et gyldigt telefonnummer",
        "premium_rate": "vi ikke ringer til overtakserede numre",
        "shared_cost": "vi ikke ringer til numre med delt takst",
        "country_not_allowed": "vi kun ringer op til danske numre",
    },
    "en": {
        "hidden": "your number is hidden",
        "not_a_number": "we cannot read your number",
        "invalid": "your number is not a valid phone number",
        "premium_rate": "we do not call premium-rate numbers",
        "shared_cost": "we do not call shared-cost numbers",
        "country_not_allowed": "we only call back Danish numbers",
    },
}


def say(lang: str, key: str, **values: object) -> str:
    return TEXTS[lang][key].format(**values)


def when(lang: str, opens: datetime, now: datetime) -> str:
    """When the line opens, as said: today, tomorrow or on a weekday, with the time."""
    time = f"{opens.hour}.{opens.minute:02d}" if lang == "da" else f"{opens:%H:%M}"
    days = (opens.date() - now.date()).days
    if days == 0:
        return say(lang, "today", time=time)
    if days == 1:
        return say(lang, "tomorrow", time=time)
    day = TEXTS[lang]["days"].split()[opens.weekday()]
    return say(lang, "weekday", day=day, time=time)


def spelled(reference: str) -> str:
    """A reference read out character by character: 'NUD9-E449' -> 'N U D 9, E 4 4 9'."""
    return ", ".join(" ".join(part) for part in reference.split("-"))
