"""The agency's forms and checklists, files in a folder an agency keeps (`email.forms_dir`),
that a caseworker attaches to an answer by name. Only plain file names in the folder itself
(no paths, no hidden files), each at most `max_bytes`: an answer cannot send anything else."""

from __future__ import annotations

import dataclasses
import mimetypes
import re
from collections.abc import Sequence
from email.message import EmailMessage
from pathlib import Path

from channels.ports import Failure, SendError

NAME = re.compile(r"^[A-Za-z0-9æøåÆØÅ][A-Za-z0-9æøåÆØÅ._ -]{0,120}$")
MAX_ATTACHMENTS = 5


@dataclasses.dataclass(frozen=True, kw_only=True)
class Form:
    filename: str
    content_type: str
    size: int


class BadAttachment(ValueError):
    """An attachment that is not one of the forms, or too large."""


class Forms:
    def __init__(self, folder: Path | None, *, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes

    def available(self) -> list[Form]:
        """The forms a caseworker may attach, by name."""
        if self.folder is None or not self.folder.is_dir():
            return []
        return [
            _form(path)
            for path in sorted(self.folder.iterdir())
            if path.is_file()
            and NAME.fullmatch(path.name)
            and path.stat().st_size <= self.max_bytes
        ]

    def chosen(self, names: Sequence[str]) -> list[Form]:
        """The forms named, checked; BadAttachment for any that is not one of them."""
        if len(names) > MAX_ATTACHMENTS:
            raise BadAttachment(f"at most {MAX_ATTACHMENTS} attachments")
        known = {f.filename: f for f in self.available()}
        missing = [n for n in names if n not in known]
        if missing:
            raise BadAttachment(
                f"not one of the forms (email.forms_dir, at most {self.max_bytes} bytes): "
                + ", ".join(repr(n) for n in missing)
            )
        return [known[n] for n in dict.fromkeys(names)]

    def attach(self, message: EmailMessage, forms: Sequence[dict[str, str]]) -> None:
        """Read each form at send time and attach it; a form gone meanwhile fails the send
        (permanently: it will not come back by itself)."""
        for form in forms:
            name = form["filename"]
            path = self.folder / name if self.folder is not None else None
            if path is None or not NAME.fullmatch(name) or not path.is_file():
                raise SendError(
                    Failure.PERMANENT, f"the form {name!r} is no longer in email.forms_dir"
                )
            maintype, _, subtype = form["content_type"].partition("/")
            message.add_attachment(
                path.read_bytes(), maintype=maintype, subtype=subtype, filename=name
            )


def _form(path: Path) -> Form:
    guessed, _ = mimetypes.guess_type(path.name)
    return Form(
        filename=path.name,
        content_type=guessed or "application/octet-stream",
        size=path.stat().st_size,
    )
