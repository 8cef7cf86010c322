"""The root of every error contactd reports to whoever asked: a member of staff, a client's
browser, Twilio, an operator at the command line.

Each error says what kind of refusal it is (`Kind`) and carries a stable `code` and a message
for people. The HTTP layer turns each kind into one status, in one table
(contactd/http/errors.py); the command line prints the message. The root lives in the pure
core so that routing, the channels and the daemon can all raise it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar


class Kind(enum.Enum):
    MALFORMED = "malformed"  # the request cannot be read (not JSON, say)
    INVALID = "invalid"  # read, but not acceptable (a field out of range, an unknown code)
    UNAUTHORISED = "unauthorised"  # who is asking is not known
    FORBIDDEN = "forbidden"  # known, but not allowed to
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"  # not in this state: the request may be right at another time
    GONE = "gone"  # was there, and will not come back
    TOO_LARGE = "too_large"
    UNSUPPORTED = "unsupported"  # the body is not of a media type the endpoint reads
    TOO_MANY = "too_many"  # a limit on how often: try later
    UNAVAILABLE = "unavailable"  # something the request needs is down or not set up


class DomainError(Exception):
    """A refusal, said in the caller's terms. Subclasses set `kind` and `code`; a raise may
    give another `code` for one case, and `details` (one mapping per problem)."""

    kind: ClassVar[Kind] = Kind.INVALID
    code: str = "not_accepted"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = [dict(d) for d in details]
