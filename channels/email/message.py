"""An incoming e-mail, parsed with the standard library (policy.default) into what intake and
the desk need: who wrote, the threading headers, the client's text, and the attachments.

Nothing here trusts the message: broken headers, undecodable charsets and odd nesting give
a best-effort result, never an exception; the raw message is kept with the contact anyway.
"""

from __future__ import annotations

import binascii
import dataclasses
import email
import email.policy
import re
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.utils import getaddresses

from bs4 import BeautifulSoup

MAX_TEXT_CHARS = 100_000  # the contact's text; the whole message stays in the raw copy
MAX_HTML_CHARS = 1_000_000
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,500}>")
# A bounce that is not a standard report still quotes the headers of the mail it returns.
_QUOTED_MESSAGE_ID = re.compile(r"^\s*Message-ID:\s*(<[^<>\s]{1,500}>)", re.I | re.M)
_DAEMONS = ("mailer-daemon@", "postmaster@")
# The headers loop protection reads (lower case).
LOOP_HEADERS = (
    "auto-submitted",
    "precedence",
    "x-auto-response-suppress",
    "list-id",
    "list-unsubscribe",
    "x-autoreply",
    "x-autorespond",
    "from",
)


# The transfer encodings a download decodes piece by piece from the raw copy (Decoder).
STREAMED_ENCODINGS = ("base64", "quoted-printable", "7bit", "8bit", "binary")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Attachment:
    filename: str
    content_type: str
    size: int  # bytes, decoded
    # Where its encoded body lies in the raw message, so that a download reads only that
    # and decodes it as it goes; None when it was not found or is encoded otherwise.
    offset: int | None = None
    length: int | None = None
    encoding: str | None = None  # one of STREAMED_ENCODINGS


@dataclasses.dataclass(frozen=True, kw_only=True)
class ParsedMail:
    message_id: str | None  # '<...>', as the sender wrote it
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    # The client: the address in From (lower case), the one DMARC vouches for. Never
    # Reply-To: anyone can write any address there.
    sender: str | None
    reply_to: str | None  # Reply-To's address, only when it differs from From's
    # Every Authentication-Results header, top (the last server's) first; only the receiving
    # server's is believed (authresults.verdict).
    authentication_results: tuple[str, ...]
    return_path: str | None  # None: no header; "": the null sender <> of a bounce
    headers: dict[str, str]  # the loop-protection headers, lower-case names
    text: str  # the client's words: the text part, else the HTML part as text
    html: str | None  # the HTML part as sent (shown sanitised on the desk), cut at MAX_HTML_CHARS
    attachments: tuple[Attachment, ...]
    defects: int  # how many problems the parser worked around
    bounced_id: str | None = None  # a delivery failure report: the Message-ID that bounced


def parse(raw: bytes) -> ParsedMail:
    """The mail as contactd keeps it; every text in it is one PostgreSQL can store."""
    return _storable(_parse(raw))


def _parse(raw: bytes) -> ParsedMail:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    defects = len(message.defects)
    text, html, attachments, part_defects = _body(message, raw)
    sender = _address(_header(message, "From"))
    reply_to = _address(_header(message, "Reply-To"))
    return_path = _return_path(message)
    return ParsedMail(
        message_id=_first_id(_header(message, "Message-ID")),
        in_reply_to=_ids(_header(message, "In-Reply-To")),
        references=_ids(_header(message, "References")),
        subject=_one_line(_header(message, "Subject")),
        sender=sender,
        reply_to=reply_to if reply_to != sender else None,
        authentication_results=_all_headers(message, "Authentication-Results"),
        return_path=return_path,
        headers={
            name: _one_line(value)
            for name in LOOP_HEADERS
            if (value := _header_or_none(message, name)) is not None
        },
        text=text[:MAX_TEXT_CHARS],
        html=html[:MAX_HTML_CHARS] if html is not None else None,
        attachments=tuple(attachments),
        defects=defects + part_defects,
        bounced_id=_bounced_id(message, text, sender, return_path),
    )


# What PostgreSQL's text refuses (NUL) or UTF-8 cannot encode (lone surrogates, which the
# parser makes of undecodable header bytes). A mail carrying one would fail to be stored on
# every pass and never reach a caseworker; each becomes U+FFFD, the replacement character.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _clean(text: str) -> str:
    return _UNSTORABLE.sub("\ufffd", text)


def _storable(mail: ParsedMail) -> ParsedMail:
    def maybe(text: str | None) -> str | None:
        return None if text is None else _clean(text)

    return dataclasses.replace(
        mail,
        message_id=maybe(mail.message_id),
        in_reply_to=tuple(_clean(i) for i in mail.in_reply_to),
        references=tuple(_clean(i) for i in mail.references),
        subject=_clean(mail.subject),
        sender=maybe(mail.sender),
        reply_to=maybe(mail.reply_to),
        authentication_results=tuple(_clean(v) for v in mail.authentication_results),
        return_path=maybe(mail.return_path),
        headers={name: _clean(value) for name, value in mail.headers.items()},
        text=_clean(mail.text),
        html=maybe(mail.html),
        attachments=tuple(
            dataclasses.replace(a, filename=_clean(a.filename), content_type=_clean(a.content_type))
            for a in mail.attachments
        ),
        bounced_id=maybe(mail.bounced_id),
    )


def _header(message: Message, name: str) -> str:
    return _header_or_none(message, name) or ""


def _header_or_none(message: Message, name: str) -> str | None:
    """A header as text, None when there is none; a header the parser cannot read is taken
    as it was written."""
    try:
        value = message.get(name)
    except (ValueError, IndexError, TypeError, AttributeError):
        raw = message.raw_items()  # the unparsed (name, value) pairs
        value = next((v for n, v in raw if n.lower() == name.lower()), None)
    return None if value is None else str(value)


def _all_headers(message: Message, name: str, most: int = 20) -> tuple[str, ...]:
    """Every header of that name, in order, each on one line (at most `most`)."""
    try:
        values = [str(v) for v in message.get_all(name) or ()]
    except (ValueError, IndexError, TypeError, AttributeError):
        values = [v for n, v in message.raw_items() if n.lower() == name.lower()]
    return tuple(_one_line(v) for v in values[:most])


def _one_line(value: str) -> str:
    """No header may carry a line break on into our own mail (header injection)."""
    return " ".join(value.split())


def _ids(value: str) -> tuple[str, ...]:
    return tuple(_MESSAGE_ID.findall(value))


def _first_id(value: str) -> str | None:
    found = _ids(value)
    return found[0] if found else None


def _address(value: str) -> str | None:
    for _, address in getaddresses([_one_line(value)]):
        if "@" in address:
            try:
                return Address(addr_spec=address).addr_spec.lower()
            except (ValueError, IndexError):
                continue
    return None


def _return_path(message: Message) -> str | None:
    value = _header(message, "Return-Path")
    if not value and message.get("Return-Path") is None:
        return None
    return _address(value) or ""


def _attachment_parts(message: EmailMessage) -> list[Message]:
    """The parts that are files rather than the client's words, in message order: the
    desk's attachment list and its downloads number them alike."""
    found: list[Message] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        if disposition == "attachment" or (
            disposition == "inline" and part.get_filename() is not None
        ) or part.get_content_type() not in ("text/plain", "text/html"):  # fmt: skip
            found.append(part)
    return found


def _encoding(part: Message) -> str:
    return str(part.get("Content-Transfer-Encoding", "") or "7bit").strip().lower()


def _described(part: Message) -> Attachment:
    """An attachment's name, type and decoded size, without decoding a base64 body (a
    scan of 30 MB would cost its size again in memory just to be counted)."""
    if _encoding(part) == "base64":
        encoded = part.get_payload()
        if isinstance(encoded, str):
            chars = len(encoded) - sum(encoded.count(c) for c in "\r\n \t")
            size = max(chars * 3 // 4 - encoded.rstrip().count("=", -2), 0)
        else:
            size = 0
    else:
        payload = part.get_payload(decode=True)
        size = len(payload) if isinstance(payload, bytes) else 0
    return Attachment(
        filename=_one_line(part.get_filename() or "unnamed"),
        content_type=part.get_content_type(),
        size=size,
    )


def _encoded_body(part: Message) -> bytes | None:
    """The part's body as it stands in the raw message (the parser keeps it byte for byte:
    undecoded, with its line ends); None when it cannot be had."""
    try:
        if _encoding(part) in ("base64", "quoted-printable"):
            payload = part.get_payload()
            return payload.encode("ascii") if isinstance(payload, str) else None
        decoded = part.get_payload(decode=True)  # 7bit, 8bit, binary: the bytes as they came
        return decoded if isinstance(decoded, bytes) else None
    except (UnicodeError, ValueError, TypeError):
        return None


def _located(raw: bytes, parts: list[Message]) -> list[Attachment]:
    """The attachments, each with where its encoded body lies in `raw`. The bodies come in
    message order, so each is looked for after the one before; a body found at an earlier
    identical copy of itself decodes to the same bytes."""
    found: list[Attachment] = []
    cursor = 0
    for part in parts:
        described = _described(part)
        encoding = _encoding(part)
        body = _encoded_body(part) if encoding in STREAMED_ENCODINGS else None
        at = raw.find(body, cursor) if body else -1
        if body is not None and at >= 0:
            cursor = at + len(body)
            described = dataclasses.replace(
                described, offset=at, length=len(body), encoding=encoding
            )
        found.append(described)
    return found


class Decoder:
    """An attachment's body decoded piece by piece, as a download reads it from the raw
    copy: the same bytes as decoding it whole, in memory the size of a piece."""

    _NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/=]")

    def __init__(self, encoding: str) -> None:
        if encoding not in STREAMED_ENCODINGS:
            raise ValueError(f"cannot decode {encoding!r} piece by piece")
        self._encoding = encoding
        self._pending = b""

    def feed(self, chunk: bytes) -> bytes:
        if self._encoding == "base64":  # whole groups of four, the rest kept for later
            data = self._pending + self._NOT_BASE64.sub(b"", chunk)
            whole = len(data) // 4 * 4
            self._pending = data[whole:]
            return binascii.a2b_base64(data[:whole])
        if self._encoding == "quoted-printable":  # whole lines: a soft break ends its line
            data = self._pending + chunk
            cut = data.rfind(b"\n") + 1
            self._pending = data[cut:]
            return binascii.a2b_qp(data[:cut])
        return chunk

    def end(self) -> bytes:
        rest, self._pending = self._pending, b""
        if self._encoding == "quoted-printable":
            return binascii.a2b_qp(rest)
        if self._encoding == "base64" and rest:
            try:  # unpadded at the end, as the standard library forgives it
                return binascii.a2b_base64(rest + b"=" * (-len(rest) % 4))
            except binascii.Error:
                return b""
        return b""


def _attachment_of(part: Message) -> tuple[Attachment, bytes]:
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    return dataclasses.replace(_described(part), size=len(data)), data


def attachment(raw: bytes, index: int) -> tuple[Attachment, bytes] | None:
    """The `index`th attachment of a raw message and its decoded bytes, or None."""
    parts = _attachment_parts(email.message_from_bytes(raw, policy=email.policy.default))
    return _attachment_of(parts[index]) if 0 <= index < len(parts) else None


def _body(message: EmailMessage, raw: bytes) -> tuple[str, str | None, list[Attachment], int]:
    plain: str | None = None
    html: str | None = None
    files = _attachment_parts(message)
    defects = 0
    for part in message.walk():
        if part.is_multipart():
            continue
        defects += len(part.defects)
        if any(part is f for f in files):
            continue
        content_type = part.get_content_type()
        if content_type == "text/plain" and plain is None:
            plain = _text_of(part)
        elif content_type == "text/html" and html is None:
            html = _text_of(part)
    attachments = _located(raw, files)
    if plain is not None and plain.strip():
        return plain.strip(), html, attachments, defects
    if html is not None:
        return html_to_text(html), html, attachments, defects
    return "", html, attachments, defects


def _bounced_id(
    message: EmailMessage, text: str, sender: str | None, return_path: str | None
) -> str | None:
    """The Message-ID of the mail a delivery failure report returns; None if this is not
    one. A report (RFC 3464) carries the returned headers in a part of its own; other
    bounces come from the mailer daemon with an empty return path and quote them."""
    is_report = message.get_content_type() == "multipart/report"
    from_daemon = return_path == "" or (sender or "").startswith(_DAEMONS)
    if not (is_report or from_daemon):
        return None
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                found = _first_id(_header(inner[0], "Message-ID"))
                if found:
                    return found
        elif content_type == "text/rfc822-headers":
            found_text = _QUOTED_MESSAGE_ID.search(_text_of(part))
            if found_text:
                return found_text.group(1)
    quoted = _QUOTED_MESSAGE_ID.search(text)
    return quoted.group(1) if quoted else None


def _text_of(part: Message) -> str:
    """A text part decoded by its charset; an unknown or wrong charset is read as UTF-8 with
    replacement characters rather than refused."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        text = payload.decode(charset, errors="replace")
    except LookupError:
        text = payload.decode("utf-8", errors="replace")
    return text.replace("\r\n", "\n")


def html_to_text(html: str) -> str:
    """The words of an HTML mail: no scripts, styles or tags; one line per block."""
    soup = BeautifulSoup(html, "html.parser")
    for hidden in soup(["script", "style", "head", "title"]):
        hidden.decompose()
    lines = (line.strip() for line in soup.get_text("\n").splitlines())
    return "\n".join(line for line in lines if line)
