"""Typed keys for what the aiohttp application holds (no module-level singletons)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from datetime import datetime

import asyncpg
from aiohttp import web

from channels.wording import Wording
from contactd.http.live import Broadcast
from contactd.leader.election import Leadership
from contactd.metrics import Metrics
from contactd.services.audit import Audit
from contactd.services.call_legs import CallLegs
from contactd.services.calls import Calls
from contactd.services.classification import CaseTypeModel
from contactd.services.console import Console
from contactd.services.intake import Intake
from contactd.services.tickets import Tickets
from contactd.settings import Agency, Settings
from contactd.store.listener import Listener
from contactd.tasks import Supervisor

SETTINGS = web.AppKey("settings", Settings)  # for the composition root (contactd/app.py) only
# What the pages are told of the agency: its case types and queues.
AGENCY: web.AppKey[Agency] = web.AppKey("agency")
DATABASE_URL = web.AppKey("database_url", str)
POOL = web.AppKey("pool", asyncpg.Pool)
LISTENER = web.AppKey("listener", Listener)
LEADERSHIP = web.AppKey("leadership", Leadership)
SUPERVISOR = web.AppKey("supervisor", Supervisor)
INTAKE = web.AppKey("intake", Intake)
TICKETS = web.AppKey("tickets", Tickets)
CALLS = web.AppKey("calls", Calls)  # the phone channel's service, started with the pool
LEGS = web.AppKey("legs", CallLegs)  # live calls' conference legs, started with the pool
BOARD = web.AppKey("board", Broadcast)  # the waiting-room board, live
STATUS = web.AppKey("status", Broadcast)  # the public status page, live
CLASSIFIER = web.AppKey("classifier", CaseTypeModel)  # absent when the classifier is off
METRICS = web.AppKey("metrics", Metrics)
AUDIT = web.AppKey("audit", Audit)  # who did what, who read whose data
CONSOLE = web.AppKey("console", Console)  # the supervisors' console
# Every client-facing text, from the catalogs: the public pages read theirs from it.
WORDING = web.AppKey("wording", Wording)


@dataclasses.dataclass(frozen=True)
class TimeOfDay:
    """The daemon's one clock (contactd/clock.py), which every part asks for "now".

    A wrapper, as an AppKey needs a class to name its type."""

    now: Callable[[], datetime]


CLOCK = web.AppKey("clock", TimeOfDay)
# Set when the daemon begins to stop: long-lived responses (event streams) end on it.
STOPPING = web.AppKey("stopping", asyncio.Event)
