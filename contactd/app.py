"""The composition root: builds the aiohttp application and every resource it holds.

Resources open in cleanup contexts in order (database, listener, leadership) and close in
reverse, so shutdown stops taking work first, drains, then releases the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import timedelta

import asyncpg
import structlog
from aiohttp import web

from channels.email.forms import Forms
from channels.public import Limiter
from contactd import metrics
from contactd.clock import Clock, wall_clock
from contactd.http import (
    agents,
    auth,
    closures,
    console,
    desk,
    email,
    history,
    improvement,
    observed,
    oidc,
    phone,
    routes,
    session,
    staff,
    whatif,
)
from contactd.http import surveys as api_csat
from contactd.http.appkeys import (
    AGENCY,
    AUDIT,
    BOARD,
    CALLS,
    CLASSIFIER,
    CLOCK,
    CONSOLE,
    DATABASE_URL,
    INTAKE,
    LEADERSHIP,
    LEGS,
    LISTENER,
    METRICS,
    POOL,
    SETTINGS,
    STATUS,
    STOPPING,
    SUPERVISOR,
    TICKETS,
    WORDING,
    TimeOfDay,
)
from contactd.http.live import Broadcast, DeskStreams
from contactd.leader import loops
from contactd.leader.election import LeaderLoop, Leadership
from contactd.leader.outbox import Sender
from contactd.leader.senders import senders as message_senders
from contactd.services import statistics
from contactd.services.agents import Agents
from contactd.services.answers import Answers
from contactd.services.audit import Audit
from contactd.services.classification import CaseTypeModel, model_path
from contactd.services.closures import CalendarClosures
from contactd.services.console import Console
from contactd.services.desk import Desk, DeskRules
from contactd.services.history import ClientHistory
from contactd.services.improvement import Reports
from contactd.services.inbox import Inbox
from contactd.services.intake import Intake, triage
from contactd.services.sessions import SignIn
from contactd.services.staff import StaffDirectory
from contactd.services.standard_answers import StandardAnswers
from contactd.services.surveys import build_surveys
from contactd.services.tickets import Tickets
from contactd.services.whatif_lab import WhatIfLab
from contactd.settings import Settings
from contactd.store import database, embedded, migrations
from contactd.store.listener import (
    AGENTS_CHANNEL,
    BOARD_CHANNEL,
    CONTACTS_CHANNEL,
    Listener,
)
from contactd.tasks import Supervisor

log = structlog.get_logger(__name__)


def create_app(settings: Settings, *, clock: Clock = wall_clock) -> web.Application:
    """The daemon's application on its one clock (contactd/clock.py): the wall clock, a
    fixed time in tests, or the demo's simulated day. Every part is given this clock."""
    app = web.Application(
        middlewares=observed.MIDDLEWARES, client_max_size=settings.daemon.max_body_bytes
    )
    app[SETTINGS] = settings
    app[AGENCY] = settings
    app[WORDING] = settings.wording
    app[auth.SIGN_IN] = auth.SignInGuard(
        gate=phone.public_gate(settings),
        failures=Limiter(settings.auth.failures_per_address, auth.FAILURE_WINDOW_SECONDS),
        secure=(settings.public_url or "").startswith("https://"),
    )
    app[session.AUTH_CONFIG] = settings.auth
    app[STOPPING] = asyncio.Event()
    app[CLOCK] = TimeOfDay(clock)
    if settings.auth.oidc is not None:  # single sign-on with the agency's OpenID provider
        app[oidc.PROVIDER] = oidc.Provider(
            settings.auth.oidc,
            client_secret=settings.oidc_client_secret,
            public_url=settings.public_url,
            clock=clock,
        )
    app[METRICS] = metrics.Metrics(settings.queues, csat_goal=settings.csat.goal)
    observed.install(app, app[METRICS].registry)  # requests, event-loop lag, process
    if settings.classifier.enabled:
        app[CLASSIFIER] = CaseTypeModel(
            settings.classifier,
            case_types=settings.case_types,
            path=model_path(settings),
            recorder=app[METRICS],
        )
    app.on_shutdown.append(_end_streams)
    app.cleanup_ctx.extend([_database, _background])
    routes.add_routes(
        app,
        routes.Operators(
            allow_from=settings.metrics.allow_from,
            trusted_proxies=settings.daemon.trusted_proxies,
        ),
    )
    app[CALLS] = phone.add_to(app, settings, clock=clock, recorder=app[METRICS])
    app[email.STANDARD_ANSWERS] = StandardAnswers(
        settings.answer_templates, settings.case_types, timezone=settings.timezone
    )
    return app


async def _end_streams(app: web.Application) -> None:
    """Stopping: tell the open event streams, so shutdown need not wait for their clients."""
    app[STOPPING].set()
    for live in (BOARD, STATUS, console.LIVE):
        if live in app:
            app[live].close()
    if LISTENER in app:
        app[LISTENER].wake_all()


async def _database(app: web.Application) -> AsyncIterator[None]:
    """The database URL (starting the embedded server if none is set), migrated, and a pool."""
    settings = app[SETTINGS]
    async with contextlib.AsyncExitStack() as stack:
        url = settings.database_url
        if url is None:
            url = await _start_embedded(stack, settings)
        pool = await database.wait_for_pool(
            url,
            min_size=settings.database.pool_min_size,
            max_size=settings.database.pool_max_size,
            give_up_after=settings.database.connect_timeout_seconds,
            statement_timeout=settings.database.statement_timeout_seconds,
        )
        stack.push_async_callback(_close_pool, pool, settings.daemon.shutdown_grace_seconds)
        await migrations.migrate_database(url)
        app[DATABASE_URL] = url
        app[POOL] = pool
        _services(app, pool)
        await app[closures.CLOSURES].load()  # the calendars' closed periods, before serving
        yield


def _services(app: web.Application, pool: asyncpg.Pool) -> None:
    """The use cases the handlers and the leader's loops share, given the pool."""
    settings, clock, recorder = app[SETTINGS], app[CLOCK].now, app[METRICS]
    words = settings.wording  # every text a client reads
    app[INTAKE] = Intake(
        pool,
        settings,
        clock=clock,
        recorder=recorder,
        classify=app[CLASSIFIER].classify if CLASSIFIER in app else triage,
        region=settings.phone.region,
        countries=settings.phone.countries,
    )
    app[TICKETS] = Tickets(
        pool,
        app[INTAKE],
        settings,
        settings.tickets,
        region=settings.phone.region,
        countries=settings.phone.countries,
        wording=words,
        phone_calendar=settings.calendars[settings.phone.calendar],
        clock=clock,
        recorder=recorder,
    )
    app[CALLS].start(pool, app[INTAKE], sms_per_hour=settings.phone.booking_sms_per_hour)
    app[LEGS].start(pool)
    app[desk.DESK] = Desk(pool, DeskRules.of(settings), clock=clock, recorder=recorder)
    app[agents.AGENTS] = Agents(
        pool, queues=settings.queues, case_types=settings.case_types, clock=clock
    )
    app[email.ANSWERS] = Answers(
        pool, settings.email, words, clock=clock, recorder=recorder, forms=forms_of(settings)
    )
    app[AUDIT] = Audit(pool, clock=clock)
    app[staff.DIRECTORY] = StaffDirectory(
        pool, clock=clock, audit=app[AUDIT], token_lasts=timedelta(days=settings.auth.token_days)
    )
    app[auth.SESSIONS] = SignIn(pool, clock=clock, config=settings.auth, audit=app[AUDIT])
    app[closures.CLOSURES] = CalendarClosures(
        pool, settings.calendars, clock=clock, audit=app[AUDIT]
    )
    app[history.HISTORY] = ClientHistory(
        pool, region=settings.phone.region, clock=clock, audit=app[AUDIT]
    )
    app[CONSOLE] = Console(
        pool,
        settings.queues,
        timezone=settings.timezone,
        clock=clock,
        recorder=recorder,
        audit=app[AUDIT],
    )
    app[whatif.LAB] = WhatIfLab(pool, settings, clock=clock)
    app[improvement.REPORTS] = Reports(pool, settings, clock=clock)


async def _close_pool(pool: asyncpg.Pool, grace: float) -> None:
    try:
        async with asyncio.timeout(grace):
            await pool.close()
    except TimeoutError:
        log.error("database.pool_close_timeout", grace_seconds=grace)
        pool.terminate()


async def _start_embedded(stack: contextlib.AsyncExitStack, settings: Settings) -> str:
    data_dir = settings.daemon.data_dir or embedded.default_data_dir()
    lock = embedded.data_dir_lock(data_dir, wait_seconds=10)
    if not await asyncio.to_thread(stack.enter_context, lock):  # waits; keep the loop free
        raise embedded.already_running(data_dir)
    return await embedded.start_owned(stack, data_dir)


async def _background(app: web.Application) -> AsyncIterator[None]:
    """The LISTEN connection, the live views and the contest for leadership, as supervised
    tasks; the loops only the leader runs (contactd/leader/loops.py)."""
    settings = app[SETTINGS]
    async with contextlib.AsyncExitStack() as stack:
        supervisor = Supervisor()
        listener = Listener(app[DATABASE_URL])
        leadership = Leadership(
            app[DATABASE_URL],
            app[POOL],
            lock_retry_seconds=settings.leader.lock_retry_seconds,
            heartbeat_seconds=settings.leader.heartbeat_seconds,
            clock=app[CLOCK].now,
        )
        senders = await stack.enter_async_context(_senders(settings))
        for name, loop in _leader_loops(app, listener, leadership.instance_id, senders).items():
            leadership.add_loop(name, loop)
        app[METRICS].follow_leadership(lambda: leadership.is_leader)
        _live_views(app, listener)
        app[SUPERVISOR] = supervisor
        app[LISTENER] = listener
        app[LEADERSHIP] = leadership
        if CLASSIFIER in app:
            supervisor.start("classifier", app[CLASSIFIER].run)
        supervisor.start("event_loop_lag", app[observed.OBSERVED].watch_loop)
        supervisor.start("listener", listener.run)
        supervisor.start("board", app[BOARD].run)
        supervisor.start("status", app[STATUS].run)
        supervisor.start("console", app[console.LIVE].run)
        supervisor.start("closures", functools.partial(app[closures.CLOSURES].run, listener))
        supervisor.start("leadership", leadership.run)
        try:
            yield
        finally:
            await supervisor.stop_all(grace=settings.daemon.shutdown_grace_seconds)
        # Leaving the stack closes the senders, once nothing sends any more.


def _senders(settings: Settings) -> contextlib.AbstractAsyncContextManager[dict[str, Sender]]:
    """The outbox's senders: the only part given the Twilio token and the SMTP password."""
    return message_senders(
        settings.phone,
        settings.email,
        twilio_auth_token=settings.twilio_auth_token,
        smtp_password=settings.smtp_password,
        public_url=settings.public_url,
        forms=forms_of(settings),
    )


def forms_of(settings: Settings) -> Forms:
    """The agency's forms folder (email.forms_dir, beside the configuration if relative)."""
    return Forms(
        settings.path.parent / settings.email.forms_dir,
        max_bytes=settings.email.max_attachment_bytes,
    )


def _leader_loops(
    app: web.Application, listener: Listener, instance: str, senders: Mapping[str, Sender]
) -> dict[str, LeaderLoop]:
    """Every loop the leader runs, by name (the names are in the logs), each
    given its own section of the settings."""
    settings, pool, clock, recorder = app[SETTINGS], app[POOL], app[CLOCK].now, app[METRICS]
    inbox = Inbox(
        pool,
        app[INTAKE],
        settings.email,
        timezone=settings.timezone,
        case_types=settings.case_types,
        wording=settings.wording,
        clock=clock,
        recorder=recorder,
    )
    surveys = build_surveys(pool, settings, clock=clock, recorder=recorder)
    app[api_csat.SURVEYS] = api_csat.Public(surveys, gate=phone.public_gate(settings))
    figures = statistics.StatisticsConfig.from_settings(settings)
    mailbox_passwords = settings.mailbox_passwords
    return {
        "router": loops.routing(pool, settings.routing, settings.queues, listener, clock),
        "timers": loops.offer_timers(pool, settings.routing, clock, recorder),
        **loops.mailbox_watchers(pool, settings.email, mailbox_passwords, inbox, instance, clock),
        "tickets": app[TICKETS].run,
        "csat": surveys.run,
        "retention": loops.purging(pool, settings.retention, clock, recorder),
        "improvement": loops.improvement_mails(pool, settings, clock),
        "statistics": loops.figures(
            pool, figures, settings.metrics.statistics_seconds, app[METRICS].leader_figures, clock
        ),
        "outbox": loops.sending(pool, settings.outbox, senders, listener, clock, recorder),
    }


def _live_views(app: web.Application, listener: Listener) -> None:
    """The waiting-room board, the public status and the agents' desks, recomputed when woken."""
    app[BOARD] = Broadcast(
        "board",
        app[TICKETS].board,
        # Calls, and the end of a ticket being served (its 'serving' flag).
        listener.subscribe(BOARD_CHANNEL, CONTACTS_CHANNEL),
        app[STOPPING],
        refresh=60,
        min_interval=0.05,  # a small query: calls close together still show within 50 ms
    )
    app[console.LIVE] = Broadcast(
        "console",
        app[CONSOLE].live,
        listener.subscribe(CONTACTS_CHANNEL, AGENTS_CHANNEL),
        app[STOPPING],
        refresh=5,  # waits grow with time: the oldest wait and the colours move on their own
        min_interval=0.2,
        lazy=True,  # computed only while a supervisor watches
    )
    app[STATUS] = Broadcast(
        "status",
        app[TICKETS].status,
        listener.subscribe(CONTACTS_CHANNEL, AGENTS_CHANNEL, BOARD_CHANNEL),
        app[STOPPING],
        refresh=15,
        min_interval=1,
    )
    for live in (app[BOARD], app[STATUS]):
        clients: Callable[[], float] = functools.partial(getattr, live, "clients")
        app[METRICS].live_clients.labels(live.name).set_function(clients)
    # Each agent's desks: one snapshot per change for all their streams, a cap per token.
    app[desk.STREAMS] = DeskStreams(
        listener,
        app[STOPPING],
        per_token=app[SETTINGS].daemon.desk_streams_per_token,
        counted=app[METRICS].desk_snapshots.inc,
    )
