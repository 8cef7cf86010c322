"""The public pages' words (issue 20): `GET /api/wording/pages?lang=da` answers the "pages"
catalog of a client language with the agency's words filled in, the language's writing
direction, and the client languages by their own names for the pages' language switchers.

No sign-in: every visitor reads the same words. They change only when the daemon restarts
with other catalogs or other [agency] words, so browsers and proxies may keep them a while.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from aiohttp import web
from babel.core import Locale

from channels.wording import Wording
from contactd.http.appkeys import WORDING
from routing.errors import DomainError, Kind

routes = web.RouteTableDef()

DOMAIN = "pages"
# Five minutes: after a restart with new words, a visitor sees them within that.
CACHE_CONTROL = "public, max-age=300"


class UnknownLanguage(DomainError):
    """A language that is not one of the agency's client languages (`[agency] languages`)."""

    kind = Kind.NOT_FOUND
    code = "unknown_language"


@routes.get("/api/wording/pages")
async def pages(request: web.Request) -> web.Response:
    """The pages' messages in `lang`, or in the first client language when none is asked
    for; a 304 when the browser holds them already (its `If-None-Match` is our ETag)."""
    wording = request.app[WORDING]
    lang = request.query.get("lang", wording.languages[0])
    if not wording.has(lang):
        raise UnknownLanguage(
            f"no wording in the language {lang[:40]!r}; "
            f"the client languages are {', '.join(wording.languages)}"
        )
    text = json.dumps(answer(wording, lang), ensure_ascii=False, sort_keys=True)
    etag = hashlib.sha256(text.encode()).hexdigest()[:32]
    headers = {"Cache-Control": CACHE_CONTROL, "Content-Language": lang}
    if any(held.value == etag for held in request.if_none_match or ()):
        response = web.Response(status=304, headers=headers)
    else:
        response = web.Response(text=text, content_type="application/json", headers=headers)
    response.etag = etag
    return response


def answer(wording: Wording, lang: str) -> dict[str, Any]:
    """What a page needs to speak `lang`: the direction of its script, the languages it may
    switch to, and every message (its own placeholders, such as {time}, left to the page)."""
    return {
        "lang": lang,
        "dir": Locale.parse(lang).text_direction,
        "languages": [{"code": code, "name": own_name(code)} for code in wording.languages],
        "messages": wording.messages(DOMAIN, lang),
    }


def own_name(code: str) -> str:
    """The language's name in itself, as a menu shows it: "Dansk", "English", "العربية"."""
    name = Locale.parse(code).get_display_name() or code
    return name[:1].upper() + name[1:]
