"""What the agency's traffic looks like: channels, case types, languages, the day's shape and
how long things take. Pure figures and draws from a seeded random generator; no I/O."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping, Sequence

# A year of the model agency (docs/architecture.md): 300,000 calls (we let about
# 5,000 be callbacks booked on the web), 50,000 e-mails and 60,000 service-centre visits.
YEAR = {"call": 295_000, "callback": 5_000, "email": 50_000, "ticket": 60_000}
WORKING_DAYS = 250
DAY_START_HOUR, DAY_END_HOUR = 7, 17  # the simulated agency day, local time
# An average working day of the agency, all channels (1,640 contacts).
DAY_VOLUME = sum(YEAR.values()) / WORKING_DAYS
DAY_MINUTES = (DAY_END_HOUR - DAY_START_HOUR) * 60
AVERAGE_RATE = DAY_VOLUME / DAY_MINUTES  # contacts per minute over the agency day

# Case types as clients bring them to the shipped configuration (config/case_types.toml):
# family and work lead, lapse and au pair are rare. Another agency's case types, which this
# table does not know, each come as often as the average of those it knows.
CASE_TYPES = {
    "family": 18, "work": 14, "study": 8, "au_pair": 3, "permanent": 9, "eu": 5, "visa": 10,
    "extension": 10, "residence_card": 7, "lapse": 2, "asylum": 4, "appeal": 4, "general": 6,
}  # fmt: skip
# Share of English speakers per channel (the rest write and speak Danish).
ENGLISH = {"call": 0.2, "callback": 0.2, "email": 0.35, "ticket": 0.25}

# Arrivals per hour of the day relative to the day's mean: phones and the service centre
# peak mid-morning, e-mail arrives more evenly (written the evening before, read at 8).
_PEAK = {
    7: 0.35, 8: 0.9, 9: 1.55, 10: 1.65, 11: 1.35, 12: 1.0, 13: 1.05, 14: 0.9, 15: 0.75, 16: 0.5,
}  # fmt: skip
_EVEN = {
    7: 1.3, 8: 1.2, 9: 1.1, 10: 1.0, 11: 1.0, 12: 0.9, 13: 0.9, 14: 0.9, 15: 0.9, 16: 0.8,
}  # fmt: skip
PROFILES: Mapping[str, Mapping[int, float]] = {
    "call": _PEAK, "callback": _EVEN, "email": _EVEN, "ticket": _PEAK,
}  # fmt: skip

# Mean handling time in seconds of (simulated) work, per channel.
HANDLE_SECONDS = {"call": 6 * 60, "callback": 6 * 60, "email": 10 * 60, "ticket": 12 * 60}
CALLER_PATIENCE_SECONDS = 8 * 60  # mean; a caller who waits longer hangs up
KEEP_PLACE_SHARE = 0.3  # callers who press 1 for a callback when it is offered
DECLINE_SHARE = 0.03  # offers an agent declines (a colleague is better placed)
NO_SHOW_SHARE = 0.03  # visitors who are called but never come to the counter
BREAK_SHARE = 0.04  # after a contact, the agent takes a break ...
BREAK_SECONDS = 12 * 60  # ... of this mean length


def profile(channel: str, hour: float) -> float:
    """The channel's arrival rate at a local hour, relative to its daily mean; flat (1) when
    the simulation does not play a day (hour < 0)."""
    if hour < 0:
        return 1.0
    shape = PROFILES[channel]
    return shape.get(int(hour), 0.0) / (sum(shape.values()) / len(shape))


def peak(channel: str) -> float:
    shape = PROFILES[channel]
    return max(shape.values()) / (sum(shape.values()) / len(shape))


def shares() -> dict[str, float]:
    total = sum(YEAR.values())
    return {channel: n / total for channel, n in YEAR.items()}


def case_type_weights(case_types: Sequence[str]) -> dict[str, float]:
    """How often each of the agency's case types comes, relative to the others: the table's
    weight for a code it knows, the average of those for one it does not. The table's codes
    come first, in its order, so a seed draws the same traffic for the shipped agency."""
    mean = sum(CASE_TYPES.values()) / len(CASE_TYPES)
    known = [c for c in CASE_TYPES if c in case_types]
    return {c: float(CASE_TYPES.get(c, mean)) for c in [*known, *case_types]}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Arrival:
    channel: str
    case_type: str
    language: str


class Draws:
    """Every random choice of a simulation, from one seeded generator (reproducible runs)."""

    def __init__(self, seed: int | None) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - simulated traffic, not security

    def arrival(self, channel: str, case_types: Sequence[str]) -> Arrival:
        codes = case_type_weights(case_types)
        case_type = self.rng.choices(list(codes), list(codes.values()))[0]
        language = "en" if self.rng.random() < ENGLISH[channel] else "da"
        return Arrival(channel=channel, case_type=case_type, language=language)

    def handle_seconds(self, channel: str) -> float:
        # Gamma with shape 3: most contacts near the mean, a few long ones.
        return self.rng.gammavariate(3, HANDLE_SECONDS[channel] / 3)

    def patience_seconds(self) -> float:
        return self.rng.expovariate(1 / CALLER_PATIENCE_SECONDS)

    def chance(self, share: float) -> bool:
        return self.rng.random() < share

    def gap(self, rate_per_second: float) -> float:
        return self.rng.expovariate(rate_per_second)

    def phone(self) -> str:
        # Danish mobile numbers (+45 2x xx xx xx). Simulated, yet treated as personal data:
        # never printed or logged.
        return f"+452{self.rng.randrange(10_000_000):07d}"

    def hex(self, digits: int) -> str:
        return f"{self.rng.getrandbits(4 * digits):0{digits}x}"

    def pick(self, options: Sequence[str]) -> str:
        return self.rng.choice(options)
