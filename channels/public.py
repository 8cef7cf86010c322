"""What every public endpoint (no sign-in: the booking form, the survey) checks of a request.

- Who is asking, for the per-address limits: the peer's address, or, when the peer is one of
  the operator's trusted proxies, the last address in X-Forwarded-For that is not one of
  them (earlier entries are the client's to forge). IPv6 addresses count per /64: one
  subscriber gets a whole /64 and could otherwise pick a fresh address for every request.
- That a browser on another site cannot make its visitors post: the body must be declared
  `application/json` (which a cross-site form or `text/plain` fetch cannot send without a
  CORS preflight we never answer), and an Origin header, when the browser sends one, must be
  the daemon's own: its public URL's, or the host the request was sent to.
"""

from __future__ import annotations

import collections
import dataclasses
import ipaddress
import time
from collections.abc import Sequence
from urllib.parse import urlsplit

from aiohttp import web

from routing.errors import DomainError, Kind

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_ADDRESSES = 10_000  # client addresses a limiter remembers


class NotJson(DomainError):
    """The body is not declared as JSON (Content-Type: application/json)."""

    kind = Kind.UNSUPPORTED
    code = "unsupported_media_type"


class CrossSite(DomainError):
    """The browser says the request comes from a page of another site."""

    kind = Kind.FORBIDDEN
    code = "cross_site"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Gate:
    """The checks, configured: `public_url` is the daemon's public address (its origin may
    post, as may the request's own host), `trusted_proxies` the networks whose
    X-Forwarded-For is believed."""

    public_url: str | None = None
    trusted_proxies: Sequence[IpNetwork] = ()

    def client(self, request: web.Request) -> str:
        """The key the per-address limits count by."""
        peer = _address(request.remote)
        if peer is not None and self._trusted(peer):
            forwarded = [
                _address(part.strip())
                for header in request.headers.getall("X-Forwarded-For", [])
                for part in header.split(",")
            ]
            for address in reversed(forwarded):
                if address is None:
                    break  # a hop we cannot read: stop at the last proxy we trust
                if not self._trusted(address):
                    return _key(address)
        return _key(peer) if peer is not None else "unknown"

    def check_post(self, request: web.Request) -> None:
        """Raise NotJson or CrossSite for a post a browser on another site could make."""
        if request.content_type != "application/json":
            raise NotJson("send the body as JSON, with Content-Type: application/json")
        origin = request.headers.get("Origin")
        if origin is not None and origin not in self._own_origins(request):
            raise CrossSite(f"requests from {origin!r} are not accepted here")

    def _own_origins(self, request: web.Request) -> set[str]:
        """The public address's origin, and the host the request was sent to (a browser
        on another site cannot send our Host with its own Origin)."""
        own = {f"{request.scheme}://{request.host}"}
        if self.public_url:
            parts = urlsplit(self.public_url)
            own.add(f"{parts.scheme}://{parts.netloc}")
        return own

    def _trusted(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(address in network for network in self.trusted_proxies)


def _address(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text or "")
    except ValueError:
        return None


def _key(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class Limiter:
    """Events per client address in a sliding window, per instance, in bounded memory: at
    most MAX_ADDRESSES are remembered; beyond, the quiet ones and then the oldest are
    forgotten (the limits that matter more are counted in the database). Durations only, on
    the monotonic clock: no decision here depends on the time of day."""

    def __init__(self, per_window: int, window_seconds: float) -> None:
        self._per_window = per_window
        self._window = window_seconds
        self._recent: dict[str, collections.deque[float]] = collections.defaultdict(
            collections.deque
        )

    def allow(self, address: str) -> bool:
        """Count one event from `address`, unless it has had its share: then False."""
        if self.exhausted(address):
            return False
        self._recent[address].append(time.monotonic())
        return True

    def exhausted(self, address: str) -> bool:
        """Whether `address` has had its share of the window (counting nothing)."""
        since = time.monotonic() - self._window
        if len(self._recent) > MAX_ADDRESSES:
            for stale in [a for a, r in self._recent.items() if not r or r[-1] < since]:
                del self._recent[stale]
            while len(self._recent) > MAX_ADDRESSES:  # a flood: forget the oldest
                del self._recent[next(iter(self._recent))]
        recent = self._recent[address]
        while recent and recent[0] < since:
            recent.popleft()
        return len(recent) >= self._per_window
