"""Typed keys for what the aiohttp application holds (no module-level singletons)."""

from __future__ import annotations

import asyncio

import asyncpg
from aiohttp import web

from contactd.classification import CaseTypeModel
from contactd.intake import Intake
from contactd.leader import Leadership
from contactd.listener import Listener
from contactd.settings import Settings
from contactd.tasks import Supervisor

SETTINGS = web.AppKey("settings", Settings)
DATABASE_URL = web.AppKey("database_url", str)
POOL = web.AppKey("pool", asyncpg.Pool)
LISTENER = web.AppKey("listener", Listener)
LEADERSHIP = web.AppKey("leadership", Leadership)
SUPERVISOR = web.AppKey("supervisor", Supervisor)
INTAKE = web.AppKey("intake", Intake)
CLASSIFIER = web.AppKey("classifier", CaseTypeModel)  # absent when the classifier is off
# Set when the daemon begins to stop: long-lived responses (event streams) end on it.
STOPPING = web.AppKey("stopping", asyncio.Event)
