"""/metrics: what this instance counted, and the leader's queue figures from the database.

Counters and histograms are per instance and sum across instances. The queue gauges are
computed by the leader's statistics pass (contactd/services/statistics.py) and exported by
the leader only, so that several instances never report a queue twice. Labels are bounded: queue,
channel, case type and small fixed sets; never a number, address or reference
(docs/reference/metrics.md lists every name). The daemon's own figures (HTTP requests by route
template, the event loop's lag, process_*) join this registry from contactd/http/observed.py.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Protocol

import prometheus_client
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from contactd import __version__
from routing.contact import Action, Channel, Contact
from routing.goals import Unit
from routing.queues import Queue

# No `_created` series beside every counter and histogram: they would add a sixth to the
# series for a start time Prometheus does not need (its rate() handles restarts).
prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]

# An abandon this short is credited by SL variant 5 (kpi.md): a caller who hung up at once.
SHORT_ABANDON_SECONDS = 5.0

# Waits from seconds (calls) to days (e-mails), few enough to keep the series bounded
# (docs/reference/metrics.md); every wall-clock goal threshold is added.
BASE_WAIT_BUCKETS = (5, 30, 60, 180, 300, 600, 1800, 3600, 4 * 3600, 86_400, 5 * 86_400)
HANDLE_BUCKETS = (60, 180, 300, 600, 900, 1800, 3600)
CONFIDENCE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
_WALL_CLOCK = {Unit.SECONDS: 1, Unit.MINUTES: 60, Unit.HOURS: 3600}


def threshold_seconds(queue: Queue, channel: Channel) -> float | None:
    """The goal's threshold in seconds, for wall-clock thresholds (working time has none)."""
    goal = queue.goals.get(channel)
    if goal is None or goal.threshold.unit not in _WALL_CLOCK:
        return None
    return float(goal.threshold.amount * _WALL_CLOCK[goal.threshold.unit])


def wait_buckets(queues: Sequence[Queue]) -> tuple[float, ...]:
    thresholds = {
        seconds
        for q in queues
        for ch in q.goals
        if (seconds := threshold_seconds(q, ch)) is not None
    }
    return tuple(sorted(set(map(float, BASE_WAIT_BUCKETS)) | thresholds))


class LeaderFigures:
    """The leader's latest statistics, encoded once per statistics pass (not per scrape:
    they are most of the series) and exported only while this instance leads."""

    def __init__(self) -> None:
        self._families: list[Metric] = []
        self.encoded = b""

    def update(self, families: list[Metric]) -> None:
        self._families = families
        self.encoded = generate_latest(self)

    def collect(self) -> Iterable[Metric]:
        return self._families


class Metrics:
    """The instance's registry and the metrics the channels count into."""

    def __init__(self, queues: Sequence[Queue], *, csat_goal: float = 4.0) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=False)
        self._is_leader: Callable[[], bool] = lambda: False
        info = Gauge(
            "contactd_build_info",
            "Always 1: the version running.",
            ["version", "python"],
            registry=registry,
        )
        info.labels(__version__, platform.python_version()).set(1)
        Gauge(
            "contactd_leader", "1 on the instance that leads, else 0.", registry=registry
        ).set_function(lambda: float(self._is_leader()))
        # The alert on falling satisfaction compares the answers' mean with it.
        Gauge(
            "contactd_csat_goal", "The mean satisfaction score (1-5) aimed for.", registry=registry
        ).set(csat_goal)
        self._contact_metrics(queues)
        self._other_metrics()
        self._mail_metrics()
        self._desk_metrics()
        # Desks computed for their streams (http/live.py): one per agent per change.
        self.desk_snapshots = Counter(
            "contactd_desk_snapshots", "Desks computed.", registry=registry
        )
        self.leader_figures = LeaderFigures()
        self._start_at_zero(queues)

    def _contact_metrics(self, queues: Sequence[Queue]) -> None:
        """What happened to the contacts: kpi.md's answered and abandoned, waits, handling."""
        registry, qc = self.registry, ["queue", "channel"]
        self.received = Counter(
            "contactd_contacts_received",
            "New contacts taken in.",
            ["channel", "case_type"],
            registry=registry,
        )
        self.offered = Counter(
            "contactd_contacts_offered", "Contacts that entered a staffed queue.", qc,
            registry=registry,
        )  # fmt: skip
        self.answered = Counter(
            "contactd_contacts_answered",
            "Contacts answered, by wait against the goal (within_goal, after_goal).",
            [*qc, "wait"],
            registry=registry,
        )
        self.abandoned = Counter(
            "contactd_contacts_abandoned",
            "Contacts that left before an answer, by wait (short, within_goal, after_goal).",
            [*qc, "wait"],
            registry=registry,
        )
        self.finished = Counter(
            "contactd_contacts_finished", "Contacts finished by an agent.", qc, registry=registry
        )
        # Answered waits only: the abandoned ones are counted by their wait class above, and
        # a second histogram per queue and channel would cost more to serve than all the rest.
        self.wait = Histogram(
            "contactd_wait_seconds",
            "The client's wait from arrival to answer, wall-clock.",
            qc,
            buckets=wait_buckets(queues),
            registry=registry,
        )
        self.handle = Histogram(
            "contactd_handle_seconds",
            "From answer to finish.",
            qc,
            buckets=HANDLE_BUCKETS,
            registry=registry,
        )

    def _other_metrics(self) -> None:
        """The classifier, the outbox, the live streams, satisfaction and retention."""
        registry, qc = self.registry, ["queue", "channel"]
        self.predictions = Counter(
            "contactd_classifier_predictions",
            "The classifier's answers at intake, routed or sent to triage.",
            ["case_type", "decision"],
            registry=registry,
        )
        self.confidence = Histogram(
            "contactd_classifier_confidence",
            "The confidence of the classifier's answers.",
            buckets=CONFIDENCE_BUCKETS,
            registry=registry,
        )
        self.outbox_sent = Counter(
            "contactd_outbox_sent", "Messages sent by the outbox.", ["kind"], registry=registry
        )
        self.outbox_errors = Counter(
            "contactd_outbox_errors",
            "Failed sends: retry (tried again) or failed (given up).",
            ["kind", "result"],
            registry=registry,
        )
        # Calls whose sender died mid-request (the lease ran out), by what Twilio said.
        self.outbox_checks = Counter(
            "contactd_outbox_checks",
            "Calls whose last try ended with no outcome, checked with Twilio: placed (not "
            "placed again), not_placed (placed now) or unknown (Twilio could not say; given up).",
            ["kind", "result"],
            registry=registry,
        )
        # /health, /ready and /metrics asked from an address outside metrics.allow_from.
        self.operational_refused = Counter(
            "contactd_operational_refused",
            "Requests for /health, /ready or /metrics refused: the address is not allowed.",
            ["endpoint"],
            registry=registry,
        )
        self.live_clients = Gauge(
            "contactd_live_clients", "Open event streams.", ["stream"], registry=registry
        )
        # The scores' sum beside their count gives the mean, at two series a queue and
        # channel instead of one per score.
        self.csat_answers = Counter(
            "contactd_csat_answers", "Satisfaction answers received.", qc, registry=registry
        )
        self.csat_score = Counter(
            "contactd_csat_score", "The sum of the scores (1-5) received.", qc, registry=registry
        )
        self.retention_purged = Counter(
            "contactd_retention_purged",
            "Closed contacts whose personal data the retention job purged.",
            registry=registry,
        )
        self.booking_sms_capped_total = Counter(
            "contactd_booking_sms_capped",
            "Web bookings not confirmed by SMS because the hourly SMS cap was reached.",
            registry=registry,
        )

    def _desk_metrics(self) -> None:
        """What caseworkers record (labelled by configured codes only)."""
        self.wrapped_up_total = Counter(
            "contactd_contacts_wrapped_up",
            "Contacts finished with a wrap-up code: why clients contact the queue.",
            ["queue", "channel", "code"],
            registry=self.registry,
        )

    def _mail_metrics(self) -> None:
        """The inbox's protection (contactd/services/inbox.py): labelled by the mailbox's
        configured name, never an address."""
        registry = self.registry
        self.mail_quarantined_total = Counter(
            "contactd_mail_quarantined",
            "Mails moved to the quarantine folder: not_stored (refused by the database "
            "email.store_tries times) or mails_per_contact (over its contact's cap).",
            ["mailbox", "reason"],
            registry=registry,
        )
        self.mail_capped_total = Counter(
            "contactd_mail_capped",
            "Mails over their sender's hourly cap of new contacts, kept on its newest contact.",
            ["mailbox"],
            registry=registry,
        )

    def _start_at_zero(self, queues: Sequence[Queue]) -> None:
        """Every queue's rate starts at zero, so that Prometheus's rate() sees its first
        contact (a series born at 1 would not count it)."""
        for queue in queues:
            for channel in queue.channels:
                self.offered.labels(queue.code, channel)
                self.finished.labels(queue.code, channel)
                for wait in ("within_goal", "after_goal"):
                    self.answered.labels(queue.code, channel, wait)
                for wait in ("short", "within_goal", "after_goal"):
                    self.abandoned.labels(queue.code, channel, wait)
                # The alert on satisfaction takes the mean over a day: the first answer too.
                self.csat_answers.labels(queue.code, channel)
                self.csat_score.labels(queue.code, channel)

    def follow_leadership(self, is_leader: Callable[[], bool]) -> None:
        self._is_leader = is_leader

    def exposition(self) -> bytes:
        """The scrape: this instance's metrics, and the queue figures if it leads."""
        body = generate_latest(self.registry)
        return body + self.leader_figures.encoded if self._is_leader() else body

    # What the channels report. Each is called once per contact and event.

    def contact_received(self, contact: Contact) -> None:
        self.received.labels(contact.channel, contact.case_type).inc()
        self.offered.labels(contact.queue, contact.channel).inc()

    def transitioned(self, action: Action, contact: Contact) -> None:
        """Count what a transition means for the service figures (kpi.md's table of what
        counts as answered and abandoned, per channel)."""
        channel = contact.channel
        if action is Action.ACCEPT:
            if channel is Channel.CALL and contact.attempts == 1 and contact.answered_at:
                self._answered(contact, contact.answered_at)
        elif action is Action.ABANDON:
            self._abandoned(contact)
        elif action is Action.CANCEL:
            if channel is Channel.TICKET and contact.outcome == "closed":
                self._abandoned(contact)  # still waiting when the service centre closed
        elif action is Action.FINISH:
            self._finished(contact)

    def _finished(self, contact: Contact) -> None:
        channel = contact.channel
        # A ticket is answered once served (a no-show never was); a callback once the
        # client was reached (one not reached broke its promise, whenever it gave up).
        if channel is Channel.TICKET and contact.outcome == "no_show":
            self._abandoned(contact)
        elif channel is Channel.CALLBACK and contact.outcome == "not_reached":
            self._abandoned(contact, broken=True)
        elif channel in (Channel.TICKET, Channel.CALLBACK) and contact.answered_at:
            self._answered(contact, contact.answered_at)
        self.finished.labels(contact.queue, channel).inc()
        if contact.answered_at is not None and contact.closed_at is not None:
            handled = (contact.closed_at - contact.answered_at).total_seconds()
            self.handle.labels(contact.queue, channel).observe(handled)

    def email_answered(self, contact: Contact, at: datetime) -> None:
        """An e-mail's first answer went out: the e-mail channel's answer."""
        self._answered(contact, at)

    def csat_answered(self, queue: str, channel: str, score: int) -> None:
        self.csat_answers.labels(queue, channel).inc()
        self.csat_score.labels(queue, channel).inc(score)

    def prediction(self, case_type: str, confidence: float, *, routed: bool) -> None:
        self.predictions.labels(case_type, "routed" if routed else "triage").inc()
        self.confidence.observe(confidence)

    def _answered(self, contact: Contact, at: datetime) -> None:
        wait = "within_goal" if at <= contact.due_at else "after_goal"
        self.answered.labels(contact.queue, contact.channel, wait).inc()
        waited = max(0.0, (at - contact.created_at).total_seconds())
        self.wait.labels(contact.queue, contact.channel).observe(waited)

    def _abandoned(self, contact: Contact, *, broken: bool = False) -> None:
        left = contact.closed_at or contact.state_changed_at
        waited = max(0.0, (left - contact.created_at).total_seconds())
        if broken:
            wait = "after_goal"
        elif waited < SHORT_ABANDON_SECONDS:
            wait = "short"
        else:
            wait = "within_goal" if left <= contact.due_at else "after_goal"
        self.abandoned.labels(contact.queue, contact.channel, wait).inc()

    def message_sent(self, kind: str) -> None:
        self.outbox_sent.labels(kind).inc()

    def message_failed(self, kind: str, *, final: bool) -> None:
        self.outbox_errors.labels(kind, "failed" if final else "retry").inc()

    def outcome_checked(self, kind: str, result: str) -> None:
        self.outbox_checks.labels(kind, result).inc()

    def contacts_purged(self, count: int) -> None:
        self.retention_purged.inc(count)

    def booking_sms_capped(self) -> None:
        self.booking_sms_capped_total.inc()

    def wrapped_up(self, queue: str, channel: str, code: str) -> None:
        self.wrapped_up_total.labels(queue, channel, code).inc()

    def mail_quarantined(self, mailbox: str, reason: str, count: int = 1) -> None:
        """`count` 0 starts the series at zero (for rate() to see the first)."""
        self.mail_quarantined_total.labels(mailbox, reason).inc(count)

    def mail_capped(self, mailbox: str, count: int = 1) -> None:
        self.mail_capped_total.labels(mailbox).inc(count)


class Recorder(Protocol):
    """What the services count, for /metrics: the daemon passes its `Metrics` to each service
    that counts; a command that serves no /metrics (the CLI, a test) passes NOT_RECORDED."""

    def contact_received(self, contact: Contact) -> None: ...
    def transitioned(self, action: Action, contact: Contact) -> None: ...
    def email_answered(self, contact: Contact, at: datetime) -> None: ...
    def csat_answered(self, queue: str, channel: str, score: int) -> None: ...
    def prediction(self, case_type: str, confidence: float, *, routed: bool) -> None: ...
    def message_sent(self, kind: str) -> None: ...
    def message_failed(self, kind: str, *, final: bool) -> None: ...
    def outcome_checked(self, kind: str, result: str) -> None: ...
    def contacts_purged(self, count: int) -> None: ...
    def booking_sms_capped(self) -> None: ...
    def mail_quarantined(self, mailbox: str, reason: str, count: int = 1) -> None: ...
    def mail_capped(self, mailbox: str, count: int = 1) -> None: ...
    def wrapped_up(self, queue: str, channel: str, code: str) -> None: ...


class _NotRecorded:
    """Counts nothing."""

    def contact_received(self, contact: Contact) -> None: ...
    def transitioned(self, action: Action, contact: Contact) -> None: ...
    def email_answered(self, contact: Contact, at: datetime) -> None: ...
    def csat_answered(self, queue: str, channel: str, score: int) -> None: ...
    def prediction(self, case_type: str, confidence: float, *, routed: bool) -> None: ...
    def message_sent(self, kind: str) -> None: ...
    def message_failed(self, kind: str, *, final: bool) -> None: ...
    def outcome_checked(self, kind: str, result: str) -> None: ...
    def contacts_purged(self, count: int) -> None: ...
    def booking_sms_capped(self) -> None: ...
    def mail_quarantined(self, mailbox: str, reason: str, count: int = 1) -> None: ...
    def mail_capped(self, mailbox: str, count: int = 1) -> None: ...
    def wrapped_up(self, queue: str, channel: str, code: str) -> None: ...


NOT_RECORDED: Recorder = _NotRecorded()


async def serve(request: web.Request, metrics: Metrics) -> web.Response:
    return web.Response(body=metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})
