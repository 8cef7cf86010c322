"""Incoming e-mail parsed as mail clients really write it, and the loop protection that
decides who gets an acknowledgement."""

from __future__ import annotations

import base64
import email
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest

from channels.email import authresults
from channels.email.loops import no_acknowledgement
from channels.email.message import MAX_TEXT_CHARS, Decoder, attachment, parse

OWN = {"kontakt@nyidanmark.example"}


def _mail(headers: dict[str, str], body: str = "Hej\n", **content: str) -> bytes:
    message = EmailMessage()
    for name, value in headers.items():
        message[name] = value
    message.set_content(body, **content)  # type: ignore[arg-type]
    return message.as_bytes(policy=SMTP)


def test_a_plain_danish_mail_in_latin_1_quoted_printable() -> None:
    raw = (
        b"From: =?iso-8859-1?q?S=F8ren_=C6blegaard?= <Soren@Example.dk>\r\n"
        b"To: kontakt@nyidanmark.example\r\n"
        b"Subject: =?iso-8859-1?q?Ans=F8gning_om_opholdstilladelse?=\r\n"
        b"Message-ID: <abc.123@example.dk>\r\n"
        b"In-Reply-To: <ack-1@contactd>\r\n"
        b"References: <first@example.dk> <ack-1@contactd>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=iso-8859-1\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"Hvorn=E5r f=E5r jeg svar p=E5 min ans=F8gning?\r\n"
    )
    mail = parse(raw)
    assert mail.sender == "soren@example.dk"
    assert mail.subject == "Ansøgning om opholdstilladelse"
    assert mail.text == "Hvornår får jeg svar på min ansøgning?"
    assert (mail.message_id, mail.in_reply_to) == ("<abc.123@example.dk>", ("<ack-1@contactd>",))
    assert mail.references == ("<first@example.dk>", "<ack-1@contactd>")
    assert no_acknowledgement(mail, OWN) is None


def test_alternative_parts_prefer_the_text_and_attachments_are_listed() -> None:
    message = EmailMessage()
    message["From"] = "anna@example.dk"
    message["Subject"] = "Visum"
    message.set_content("Jeg søger visum til min søster.")
    message.add_alternative("<p>Jeg søger <b>visum</b></p>", subtype="html")
    message.add_attachment(b"%PDF-1.4 " + b"x" * 1000, maintype="application",
                           subtype="pdf", filename="pas.pdf")  # fmt: skip
    mail = parse(message.as_bytes())
    assert mail.text == "Jeg søger visum til min søster."
    [attachment] = mail.attachments
    assert (attachment.filename, attachment.content_type, attachment.size) == (
        "pas.pdf",
        "application/pdf",
        1009,
    )


def test_an_html_only_mail_is_read_as_text_without_scripts() -> None:
    html = (
        "<html><head><style>p{color:red}</style><script>alert(1)</script></head>"
        "<body><p>Hvordan forl&aelig;nger jeg</p><p>min opholdstilladelse?</p></body></html>"
    )
    mail = parse(_mail({"From": "a@example.dk"}, html, subtype="html"))
    assert mail.text == "Hvordan forlænger jeg\nmin opholdstilladelse?"


def test_a_base64_body_in_a_charset_python_does_not_know_is_still_read() -> None:
    body = base64.b64encode("Hej, mit navn er Åse".encode()).decode()
    raw = (
        "From: ase@example.dk\r\nSubject: Hej\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=x-unknown-charset\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{body}\r\n"
    ).encode()
    assert parse(raw).text == "Hej, mit navn er Åse"


def test_broken_headers_and_nesting_give_a_best_effort_not_an_error() -> None:
    raw = (
        b"From: <<<not an address\r\n"
        b"Subject: =?utf-8?b?broken base64?=\r\n"
        b"Message-ID: no-angle-brackets\r\n"
        b"Content-Type: multipart/mixed; boundary=outer\r\n\r\n"
        b"--outer\r\nContent-Type: multipart/alternative; boundary=inner\r\n\r\n"
        b"--inner\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        b"Indre tekst\r\n--inner--\r\n"
        b"--outer\r\nContent-Type: text/plain\r\n\r\nunterminated"
    )
    mail = parse(raw)
    assert mail.text == "Indre tekst"
    assert (mail.sender, mail.message_id) == (None, None)
    assert mail.defects >= 1
    assert no_acknowledgement(mail, OWN) == "no sender address"


def test_header_injection_in_the_subject_stays_on_one_line() -> None:
    raw = b"From: a@example.dk\r\nSubject: Hej\r\n Bcc: victim@example.dk\r\n\r\nTekst\r\n"
    assert "\n" not in parse(raw).subject


def test_a_huge_body_is_cut_for_the_contact() -> None:
    mail = parse(_mail({"From": "a@example.dk"}, "visum " * 3_000_000))  # about 18 MB
    assert len(mail.text) == MAX_TEXT_CHARS


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"Auto-Submitted": "auto-replied"}, "auto-submitted"),
        ({"Precedence": "bulk"}, "precedence"),
        ({"X-Auto-Response-Suppress": "All"}, "x-auto-response-suppress"),
        ({"List-Id": "<nyheder.example.dk>"}, "mailing list"),
        ({"Return-Path": "<>"}, "bounce (empty return path)"),
        ({"From": "MAILER-DAEMON@mx.example.dk"}, "system address"),
        ({"From": "kontakt@nyidanmark.example"}, "own address"),
    ],
)
def test_automatic_bulk_bounced_and_own_mail_gets_no_acknowledgement(
    headers: dict[str, str], why: str
) -> None:
    mail = parse(_mail({"From": "anna@example.dk", **headers}))
    assert no_acknowledgement(mail, OWN) == why


def test_auto_submitted_no_is_a_person() -> None:
    mail = parse(_mail({"From": "anna@example.dk", "Auto-Submitted": "no"}))
    assert no_acknowledgement(mail, OWN) is None


def test_a_delivery_report_names_the_message_that_bounced() -> None:
    raw = (
        b"From: MAILER-DAEMON@mx.example.dk\r\nReturn-Path: <>\r\nSubject: Undelivered\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nCould not deliver.\r\n"
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\nAction: failed\r\n\r\n"
        b"--b\r\nContent-Type: message/rfc822\r\n\r\n"
        b"From: kontakt@nyidanmark.example\r\nMessage-ID: <ack-1@nyidanmark.example>\r\n\r\nTak\r\n"
        b"--b--\r\n"
    )
    assert parse(raw).bounced_id == "<ack-1@nyidanmark.example>"


def test_a_plain_bounce_from_the_mailer_daemon_quotes_the_returned_headers() -> None:
    raw = (
        b"From: Mail Delivery Subsystem <mailer-daemon@example.com>\r\nSubject: failure\r\n\r\n"
        b"The following message could not be delivered:\r\n\r\n"
        b"  Message-ID: <ack-2@nyidanmark.example>\r\n  Subject: Vi har modtaget\r\n"
    )
    assert parse(raw).bounced_id == "<ack-2@nyidanmark.example>"


def test_a_person_quoting_a_message_id_is_not_a_bounce() -> None:
    raw = _mail(
        {"From": "anna@example.dk", "Subject": "Hej"},
        "Message-ID: <ack-3@nyidanmark.example>\n",
    )
    assert parse(raw).bounced_id is None


def test_the_html_part_is_kept_for_the_desk_and_attachments_are_found_by_number() -> None:
    message = EmailMessage()
    message["From"] = "anna@example.dk"
    message.set_content("Hej")
    message.add_alternative("<p>Hej <b>du</b></p>", subtype="html")
    message.add_attachment(b"one", maintype="application", subtype="pdf", filename="a.pdf")
    message.add_attachment(b"two", maintype="image", subtype="png", filename="b.png")
    raw = message.as_bytes()

    mail = parse(raw)
    assert mail.html is not None
    assert "<b>du</b>" in mail.html
    assert [a.filename for a in mail.attachments] == ["a.pdf", "b.png"]
    found = attachment(raw, 1)
    assert found is not None
    assert (found[0].filename, found[1]) == ("b.png", b"two")
    assert attachment(raw, 2) is None
    assert attachment(raw, -1) is None


STDLIB_MAIL = Path(email.__file__).parent.parent / "test" / "test_email" / "data"


@pytest.mark.skipif(not STDLIB_MAIL.is_dir(), reason="this Python has no test data installed")
@pytest.mark.parametrize(
    "path", sorted(STDLIB_MAIL.glob("msg_*.txt")) if STDLIB_MAIL.is_dir() else [], ids=str
)
def test_every_message_of_the_standard_librarys_email_tests_is_read(path: Path) -> None:
    """CPython's own collection of odd real-world mail: nested multiparts, broken headers,
    unknown charsets, non-MIME bodies. Each is read without an error, and every part the
    parser found is either the text or a listed attachment."""
    raw = path.read_bytes()
    mail = parse(raw)
    parts = [p for p in email.message_from_bytes(raw).walk() if not p.is_multipart()]
    words = [p for p in parts if bytes(p.get_payload(decode=True) or b"").strip()]
    assert mail.text or mail.html is not None or mail.attachments or not words
    for index, listed in enumerate(mail.attachments):
        whole = attachment(raw, index)
        assert whole is not None
        if listed.encoding is not None and listed.offset is not None and listed.length:
            decode = Decoder(listed.encoding)  # as a download streams it
            body = raw[listed.offset : listed.offset + listed.length]
            assert decode.feed(body) + decode.end() == whole[1]


@pytest.mark.parametrize("length", [0, 1, 2, 3, 4, 57, 58, 1000, 100_001])
def test_an_attachments_size_is_counted_exactly_without_decoding_it(length: int) -> None:
    message = EmailMessage()
    message["From"] = "anna@example.dk"
    message.set_content("Hej")
    message.add_attachment(bytes(length), maintype="application", subtype="pdf", filename="a.pdf")
    [listed] = parse(message.as_bytes()).attachments
    assert listed.size == length


def test_the_sender_is_from_and_a_different_reply_to_is_kept_beside_it() -> None:
    mail = parse(_mail({"From": "Anna <Anna@Example.dk>", "Reply-To": "x@evil.example"}))
    assert (mail.sender, mail.reply_to) == ("anna@example.dk", "x@evil.example")
    same = parse(_mail({"From": "anna@example.dk", "Reply-To": "Anna <ANNA@example.dk>"}))
    assert (same.sender, same.reply_to) == ("anna@example.dk", None)
    only = parse(_mail({"Reply-To": "x@evil.example"}))
    assert (only.sender, only.reply_to) == (None, "x@evil.example")
    assert no_acknowledgement(only, OWN) == "no sender address"


OURS = ("mx.nyidanmark.example",)


@pytest.mark.parametrize(
    ("headers", "believed"),
    [
        # DMARC's verdict when the receiving server gives one (RFC 7489 results folded into
        # pass, fail or none) ...
        (["mx.nyidanmark.example; spf=pass smtp.mailfrom=a.dk; dmarc=pass header.from=a.dk"],
         {"dmarc": "pass"}),
        (["mx.nyidanmark.example 1; dmarc=permerror header.from=a.dk"], {"dmarc": "fail"}),
        (["mx.nyidanmark.example; dmarc=temperror (dns timeout) header.from=a.dk"],
         {"dmarc": "none"}),
        # ... else SPF's and DKIM's, ...
        (["mx.nyidanmark.example; spf=softfail smtp.mailfrom=a.dk;\r\n dkim=pass header.d=a.dk"],
         {"spf": "fail", "dkim": "pass"}),
        (["mx.nyidanmark.example; none"], {"dmarc": "none"}),
        # ... and only the receiving server's: the sender may write any header it likes.
        (["evil.example; dmarc=pass"], {"dmarc": "none"}),
        (["(comment; dmarc=pass) mx.nyidanmark.example; dmarc=fail header.from=a.dk",
          "mx.nyidanmark.example; dmarc=pass"], {"dmarc": "fail"}),
        ([], {"dmarc": "none"}),
    ],
)  # fmt: skip
def test_authentication_results_are_read_from_the_receiving_server_only(
    headers: list[str], believed: dict[str, str]
) -> None:
    raw = "".join(f"Authentication-Results: {h}\r\n" for h in headers).encode()
    mail = parse(raw + _mail({"From": "a@a.dk"}))
    assert authresults.verdict(mail.authentication_results, OURS) == believed


def test_authentication_results_are_not_checked_without_a_receiving_server_named() -> None:
    mail = parse(b"Authentication-Results: mx.example; dmarc=pass\r\n" + _mail({"From": "a@a.dk"}))
    assert authresults.verdict(mail.authentication_results, ()) is None


def _with_attachments() -> bytes:
    message = EmailMessage()
    message["From"] = "anna@example.dk"
    message.set_content("Hej")
    message.add_attachment(bytes(range(256)) * 40, maintype="application", subtype="pdf",
                           filename="a.pdf")  # fmt: skip
    message.add_attachment(
        "Linje æøå = 1\n" * 300, subtype="csv", filename="b.csv", cte="quoted-printable"
    )
    message.add_attachment("ren tekst\n" * 50, subtype="plain", filename="c.txt",
                           disposition="attachment", cte="8bit")  # fmt: skip
    return message.as_bytes()


@pytest.mark.parametrize("chunk", [1, 3, 4, 7, 76, 1000, 1_000_000])
def test_an_attachment_decoded_piece_by_piece_from_its_place_is_the_whole_decoded(
    chunk: int,
) -> None:
    raw = _with_attachments()
    mail = parse(raw)
    assert [a.encoding for a in mail.attachments] == ["base64", "quoted-printable", "8bit"]
    for index, listed in enumerate(mail.attachments):
        whole = attachment(raw, index)
        assert whole is not None
        assert listed.offset is not None
        assert listed.length is not None
        assert listed.encoding is not None
        encoded = raw[listed.offset : listed.offset + listed.length]
        decode = Decoder(listed.encoding)
        pieces = [decode.feed(encoded[i : i + chunk]) for i in range(0, len(encoded), chunk)]
        assert b"".join(pieces) + decode.end() == whole[1], listed.filename
