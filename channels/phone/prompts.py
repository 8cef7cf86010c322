"""What the phone line says and texts, from the "phone" catalogs (channels/wording.py): kept
apart from the call flow, and worded by the agency without touching either."""

from __future__ import annotations

from datetime import datetime

from babel.dates import get_day_names

from channels.wording import Wording


class Prompts:
    def __init__(self, wording: Wording) -> None:
        self._wording = wording

    def say(self, lang: str, key: str, **values: object) -> str:
        """An IVR message (`ivr.<key>`) in `lang`."""
        return self._wording.text("phone", lang, f"ivr.{key}", **values)

    def text(self, lang: str, message: str, **values: object) -> str:
        """Any message of the phone catalog, by its full id (`callback.agent`)."""
        return self._wording.text("phone", lang, message, **values)

    def plural(self, lang: str, message: str, n: int, **values: object) -> str:
        """A counting message of the phone catalog, by the language's plural rule."""
        return self._wording.plural("phone", lang, message, n, **values)

    def why(self, lang: str, reason: str) -> str:
        """Why a caller cannot be called back (numbers.BadNumber's reason), as said."""
        return self._wording.text("phone", lang, f"why.{reason}")

    def when(self, lang: str, opens: datetime, now: datetime) -> str:
        """When the line opens, as said: today, tomorrow or on a weekday, with the time."""
        time = f"{opens.hour}.{opens.minute:02d}" if lang == "da" else f"{opens:%H:%M}"
        days = (opens.date() - now.date()).days
        if days == 0:
            return self.say(lang, "today", time=time)
        if days == 1:
            return self.say(lang, "tomorrow", time=time)
        day = get_day_names("wide", locale=lang)[opens.weekday()]
        return self.say(lang, "weekday", day=day, time=time)


def spelled(reference: str) -> str:
    """A reference read out character by character: 'NUD9-E449' -> 'N U D 9, E 4 4 9'."""
    return ", ".join(" ".join(part) for part in reference.split("-"))
