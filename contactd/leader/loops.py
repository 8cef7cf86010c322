"""The leader's loops, each built by its own small factory from exactly what it needs: the
composition root (contactd/app.py) registers them with the election (contactd/leader/election.py),
and only the instance that leads runs them."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

import asyncpg
import structlog

from channels.email import imap
from contactd.clock import Clock
from contactd.leader import improvement_mail, outbox, retention, router, timers
from contactd.leader.election import LeaderLoop
from contactd.leader.outbox import Sender
from contactd.metrics import LeaderFigures, Recorder
from contactd.services import mailboxes, statistics_export
from contactd.services.inbox import Inbox
from contactd.services.statistics import StatisticsConfig
from contactd.settings import EmailConfig, OutboxConfig, RetentionConfig, RoutingConfig, Settings
from contactd.store import channel_status
from contactd.store.listener import AGENTS_CHANNEL, CONTACTS_CHANNEL, OUTBOX_CHANNEL, Listener
from routing.queues import Queue

log = structlog.get_logger(__name__)


def routing(
    pool: asyncpg.Pool,
    config: RoutingConfig,
    queues: Sequence[Queue],
    listener: Listener,
    clock: Clock,
) -> LeaderLoop:
    """Offers: woken by a new contact or a free agent, and every poll."""
    return functools.partial(
        router.run,
        pool,
        {q.code: q.rules() for q in queues},
        listener.subscribe(CONTACTS_CHANNEL, AGENTS_CHANNEL),
        clock=clock,
        expiry_seconds=config.offer_expiry_seconds,
        passed_over_seconds=config.passed_over_seconds,
        batch_size=config.batch_size,
        poll_seconds=config.poll_seconds,
    )


def offer_timers(
    pool: asyncpg.Pool, config: RoutingConfig, clock: Clock, recorder: Recorder
) -> LeaderLoop:
    """Offers that expire, agents missing too many of them, wrap-ups that end."""
    return functools.partial(
        timers.run,
        pool,
        clock=clock,
        recorder=recorder,
        max_missed=config.max_missed_offers,
        wrap_up_seconds=config.wrap_up_seconds,
    )


def mailbox_watchers(
    pool: asyncpg.Pool,
    email: EmailConfig,
    passwords: Mapping[str, str],
    inbox: Inbox,
    instance: str,
    clock: Clock,
) -> dict[str, LeaderLoop]:
    """One watcher per mailbox; its password stays with the IMAP connection that uses it."""
    watchers: dict[str, LeaderLoop] = {}
    for mailbox in mailboxes.mailboxes(email, passwords):
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
            poll_seconds=email.poll_seconds,
            idle_seconds=email.idle_seconds,
            report=channel_status.reporter(pool, name, instance, clock),
        )
    return watchers


def purging(
    pool: asyncpg.Pool, config: RetentionConfig, clock: Clock, recorder: Recorder
) -> LeaderLoop:
    """Personal data past its retention, purged in short batches."""
    return functools.partial(retention.run, pool, config, clock, recorder)


def improvement_mails(pool: asyncpg.Pool, settings: Settings, clock: Clock) -> LeaderLoop:
    """The improvement report mailed each day and each week, each period once."""
    return functools.partial(improvement_mail.run, pool, settings, clock)


def figures(
    pool: asyncpg.Pool,
    config: StatisticsConfig,
    every_seconds: float,
    leader_figures: LeaderFigures,
    clock: Clock,
) -> LeaderLoop:
    """The queue figures /metrics exports while this instance leads."""
    return functools.partial(
        statistics_export.run, pool, config, leader_figures, clock, every_seconds=every_seconds
    )


def sending(
    pool: asyncpg.Pool,
    config: OutboxConfig,
    senders: Mapping[str, Sender],
    listener: Listener,
    clock: Clock,
    recorder: Recorder,
) -> LeaderLoop:
    """The outbox: woken by a new message, and every poll for retries."""
    return functools.partial(
        outbox.run,
        pool,
        senders,
        listener.subscribe(OUTBOX_CHANNEL),
        clock=clock,
        recorder=recorder,
        poll_seconds=config.poll_seconds,
        max_age_hours={str(kind): hours for kind, hours in config.max_age_hours.items()},
        batch=config.batch_size,
        lease_seconds=config.lease_seconds,
        max_attempts=config.max_attempts,
        backoff_seconds=config.backoff_seconds,
        max_backoff_seconds=config.max_backoff_seconds,
        concurrency=config.concurrency,
    )
