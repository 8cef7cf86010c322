"""The leader's loops, each built by its own small factory from exactly what it needs: the
composition root (contactd/app.py) registers them with the election (contactd/leader/election.py),
and only the instance that leads runs them."""

from __future__ import annotations

import functools
from collections.abc import Mapping

import asyncpg
import structlog

from channels.email import imap
from contactd.clock import Clock
from contactd.leader import outbox, retention, router, timers
from contactd.leader.election import LeaderLoop
from contactd.leader.outbox import Sender
from contactd.metrics import LeaderFigures, Recorder
from contactd.services import mailboxes, statistics_export
from contactd.services.inbox import Inbox
from contactd.settings import Settings
from contactd.store import channel_status
from contactd.store.listener import AGENTS_CHANNEL, CONTACTS_CHANNEL, OUTBOX_CHANNEL, Listener

log = structlog.get_logger(__name__)


def routing(pool: asyncpg.Pool, settings: Settings, listener: Listener, clock: Clock) -> LeaderLoop:
    """Offers: woken by a new contact or a free agent, and every poll."""
    config = settings.routing
    return functools.partial(
        router.run,
        pool,
        {q.code: q.rules() for q in settings.queues},
        listener.subscribe(CONTACTS_CHANNEL, AGENTS_CHANNEL),
        clock=clock,
        expiry_seconds=config.offer_expiry_seconds,
        batch_size=config.batch_size,
        poll_seconds=config.poll_seconds,
    )


def offer_timers(
    pool: asyncpg.Pool, settings: Settings, clock: Clock, recorder: Recorder
) -> LeaderLoop:
    """Offers that expire, agents missing too many of them, wrap-ups that end."""
    return functools.partial(
        timers.run,
        pool,
        clock=clock,
        recorder=recorder,
        max_missed=settings.routing.max_missed_offers,
        wrap_up_seconds=settings.routing.wrap_up_seconds,
    )


def mailbox_watchers(
    pool: asyncpg.Pool, settings: Settings, inbox: Inbox, instance: str, clock: Clock
) -> dict[str, LeaderLoop]:
    """One watcher per mailbox; its password stays with the IMAP connection that uses it."""
    watchers: dict[str, LeaderLoop] = {}
    for mailbox in mailboxes.mailboxes(settings):
        if not mailbox.password:
            log.error(
                "imap.no_password",
                mailbox=mailbox.name,
                variable=f"CONTACTD_MAILBOX_{mailbox.name.upper()}_PASSWORD",
            )
        name = f"mailbox:{mailbox.name}"
        watchers[name] = functools.partial(
            imap.watch,
            mailbox,
            inbox,
            poll_seconds=settings.email.poll_seconds,
            idle_seconds=settings.email.idle_seconds,
            report=channel_status.reporter(pool, name, instance, clock),
        )
    return watchers


def purging(pool: asyncpg.Pool, settings: Settings, clock: Clock, recorder: Recorder) -> LeaderLoop:
    """Personal data past its retention, purged in short batches."""
    return functools.partial(retention.run, pool, settings.retention, clock, recorder)


def figures(
    pool: asyncpg.Pool, settings: Settings, leader_figures: LeaderFigures, clock: Clock
) -> LeaderLoop:
    """The queue figures /metrics exports while this instance leads."""
    return functools.partial(statistics_export.run, pool, settings, leader_figures, clock)


def sending(
    pool: asyncpg.Pool,
    settings: Settings,
    senders: Mapping[str, Sender],
    listener: Listener,
    clock: Clock,
    recorder: Recorder,
) -> LeaderLoop:
    """The outbox: woken by a new message, and every poll for retries."""
    config = settings.outbox
    return functools.partial(
        outbox.run,
        pool,
        senders,
        listener.subscribe(OUTBOX_CHANNEL),
        clock=clock,
        recorder=recorder,
        poll_seconds=config.poll_seconds,
        batch=config.batch_size,
        lease_seconds=config.lease_seconds,
        max_attempts=config.max_attempts,
        backoff_seconds=config.backoff_seconds,
        max_backoff_seconds=config.max_backoff_seconds,
        concurrency=config.concurrency,
    )
