"""/metrics: what this instance counted, and the leader's queue figures from the database.

Counters and histograms are per instance and sum across instances. The queue gauges are
computed by the leader's statistics pass (contactd/statistics.py) and exported by the leader
only, so that several instances never report a queue twice. Labels are bounded: queue,
channel, case type and small fixed sets; never a number, address or reference
(docs/reference/metrics.md lists every name).
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

from contactd import __version__
from routing.contact import Action, Channel, Contact
from routing.goals import Unit
from routing.queues import Queue

# An abandon this short is credited by SL variant 5 (kpi.md): a caller who hung up at once.
SHORT_ABANDON_SECONDS = 5.0

# Waits from seconds (calls) to days (e-mails); every wall-clock goal threshold is added.
BASE_WAIT_BUCKETS = (
    5, 10, 20, 30, 60, 120, 180, 300, 600, 900, 1800, 3600, 2 * 3600, 4 * 3600, 8 * 3600,
    86_400, 2 * 86_400, 5 * 86_400, 10 * 86_400,
)  # fmt: skip
HANDLE_BUCKETS = (30, 60, 120, 180, 300, 450, 600, 900, 1200, 1800, 3600, 2 * 3600)
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


class LeaderFigures(Collector):
    """The leader's latest statistics, exported only while this instance leads."""

    def __init__(self, is_leader: Callable[[], bool]) -> None:
        self._is_leader = is_leader
        self._families: list[Metric] = []

    def update(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        if self._is_leader():
            yield from self._families


class Metrics:
    """The instance's registry and the metrics the channels count into."""

    def __init__(self, queues: Sequence[Queue]) -> None:
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
        qc = ["queue", "channel"]
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
        self.wait = Histogram(
            "contactd_wait_seconds",
            "The client's wait to answer or abandon, wall-clock.",
            [*qc, "result"],
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
        self.live_clients = Gauge(
            "contactd_live_clients", "Open event streams.", ["stream"], registry=registry
        )
        self.csat_answers = Counter(
            "contactd_csat_answers",
            "Satisfaction answers received, by score (1-5).",
            [*qc, "score"],
            registry=registry,
        )
        self.leader_figures = LeaderFigures(lambda: self._is_leader())
        registry.register(self.leader_figures)

    def follow_leadership(self, is_leader: Callable[[], bool]) -> None:
        self._is_leader = is_leader

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

    def prediction(self, case_type: str, confidence: float, *, routed: bool) -> None:
        self.predictions.labels(case_type, "routed" if routed else "triage").inc()
        self.confidence.observe(confidence)

    def _answered(self, contact: Contact, at: datetime) -> None:
        wait = "within_goal" if at <= contact.due_at else "after_goal"
        self.answered.labels(contact.queue, contact.channel, wait).inc()
        waited = max(0.0, (at - contact.created_at).total_seconds())
        self.wait.labels(contact.queue, contact.channel, "answered").observe(waited)

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
        self.wait.labels(contact.queue, contact.channel, "abandoned").observe(waited)


# The instance's metrics: set by create_app. The domain's write paths (store, intake) count
# into it without every caller passing it along; one daemon is one process.
_current: Metrics | None = None


def install(metrics: Metrics) -> None:
    global _current
    _current = metrics


def current() -> Metrics | None:
    return _current


async def serve(request: web.Request, registry: CollectorRegistry) -> web.Response:
    body = generate_latest(registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
