"""Agents as the routing engine sees them: skills, languages and free capacity."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from datetime import datetime

from routing.contact import Channel, Language

SKILL_LEVELS = range(1, 6)  # 1 knows the basics ... 5 is the expert


class AgentState(enum.StrEnum):
    OFFLINE = "offline"
    AVAILABLE = "available"
    AWAY = "away"
    WRAP_UP = "wrap_up"


@dataclasses.dataclass(frozen=True, kw_only=True)
class AgentView:
    """An available agent at the moment of a routing pass.

    `free` is the capacity left per channel (capacity minus contacts offered or active);
    `idle_since` is when the agent last finished or became available.
    """

    id: int
    skills: Mapping[str, int]
    languages: frozenset[Language]
    free: Mapping[Channel, int]
    idle_since: datetime
    at_counter: bool = True  # a numbered service-centre ticket is called to their counter
