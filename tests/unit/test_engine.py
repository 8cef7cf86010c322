"""The routing engine's promises, checked on random situations (hypothesis) and examples."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from routing.agents import AgentView
from routing.contact import Channel, Language
from routing.engine import (
    CONTACTD,
    BullseyeStep,
    Offer,
    Policy,
    QueueRules,
    WaitingContact,
    order_of,
    route,
)

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
CASE_TYPES = ("family", "work", "visa", "general", "asylum")
QUEUES = {
    "family": QueueRules(
        code="family",
        case_types=frozenset({"family"}),
        priority=20,
        bullseye=(
            BullseyeStep(after_seconds=0, level=3),
            BullseyeStep(after_seconds=60, level=2),
            BullseyeStep(after_seconds=120, level=1),
        ),
        overflow_to=("general",),
        overflow_after_seconds=300,
    ),
    "work": QueueRules(
        code="work",
        case_types=frozenset({"work", "visa"}),
        priority=10,
        bullseye=(BullseyeStep(after_seconds=0, level=2), BullseyeStep(after_seconds=90, level=1)),
        overflow_to=("general", "family"),
        overflow_after_seconds=200,
    ),
    "general": QueueRules(code="general", case_types=frozenset({"general"})),
    "asylum": QueueRules(code="asylum", case_types=frozenset({"asylum"}), priority=30),
}
QUEUE_OF = {
    "family": "family",
    "work": "work",
    "visa": "work",
    "general": "general",
    "asylum": "asylum",
}

agents_strategy = st.lists(
    st.builds(
        lambda i, skills, langs, free, idle: AgentView(
            id=i,
            skills=skills,
            languages=frozenset(langs),
            free=free,
            idle_since=NOW - timedelta(seconds=idle),
        ),
        i=st.integers(0, 40),
        skills=st.dictionaries(st.sampled_from(CASE_TYPES), st.integers(1, 5), min_size=1),
        langs=st.sets(st.sampled_from(list(Language)), min_size=1),
        free=st.dictionaries(st.sampled_from(list(Channel)), st.integers(0, 3)),
        idle=st.integers(0, 3600),
    ),
    max_size=12,
    unique_by=lambda a: a.id,
)
contacts_strategy = st.lists(
    st.builds(
        lambda i, channel, language, case_type, priority, waited, goal, passed: WaitingContact(
            id=i,
            channel=channel,
            language=language,
            case_type=case_type,
            queue=QUEUE_OF[case_type],
            priority=priority,
            due_at=NOW - timedelta(seconds=waited) + timedelta(seconds=goal),
            waiting_since=NOW - timedelta(seconds=waited),
            passed_by=passed,
        ),
        passed=st.frozensets(st.integers(0, 40), max_size=3),
        i=st.integers(0, 10**6),
        channel=st.sampled_from(list(Channel)),
        language=st.sampled_from(list(Language)),
        case_type=st.sampled_from(CASE_TYPES),
        # Below, at and above the queues' own (a transfer keeps the old queue's priority; an
        # appointment ticket is its queue's + 5), with ties.
        priority=st.sampled_from([0, 3, 5, 10, 15, 20, 23, 25, 30]),
        waited=st.integers(0, 600),
        goal=st.sampled_from([180, 300, 3600]),
    ),
    max_size=40,
    unique_by=lambda c: c.id,
)


def _waited(c: WaitingContact) -> float:
    return (NOW - c.waiting_since).total_seconds()


def _required(c: WaitingContact) -> int:
    queue = QUEUES[c.queue]
    return queue.bullseye[queue.step_at(_waited(c))].level


def _members(agent: AgentView, queue_code: str) -> bool:
    return any(ct in QUEUES[queue_code].case_types for ct in agent.skills)


def _eligible(c: WaitingContact, a: AgentView) -> bool:
    if c.language not in a.languages or a.id in c.passed_by:
        return False
    if a.skills.get(c.case_type, 0) >= _required(c):
        return True
    queue = QUEUES[c.queue]
    overflowing = queue.overflow_after_seconds is not None and (
        _waited(c) >= queue.overflow_after_seconds
    )
    return overflowing and any(_members(a, q) for q in queue.overflow_to)


def _urgency(c: WaitingContact) -> tuple[int, datetime, int, datetime, int]:
    """contactd's order: a priority of the contact's own above its queue's first, then the
    earliest due time; the priority only breaks ties; then the longest wait, the lowest id."""
    own = max(0, c.priority - QUEUES[c.queue].priority)
    return (-own, c.due_at, -c.priority, c.waiting_since, c.id)


def _run(
    contacts: list[WaitingContact], agents: list[AgentView]
) -> tuple[list[Offer], dict[int, WaitingContact], dict[int, AgentView]]:
    return (
        route(contacts, agents, QUEUES, NOW),
        {c.id: c for c in contacts},
        {a.id: a for a in agents},
    )


@settings(max_examples=200)
@given(contacts_strategy, agents_strategy)
def test_no_contact_twice_and_no_agent_over_capacity(contacts, agents) -> None:  # type: ignore[no-untyped-def]
    offers, by_contact, by_agent = _run(contacts, agents)
    assert len({o.contact_id for o in offers}) == len(offers)
    used = Counter((o.agent_id, by_contact[o.contact_id].channel) for o in offers)
    for (agent_id, channel), n in used.items():
        assert n <= by_agent[agent_id].free.get(channel, 0)


@settings(max_examples=200)
@given(contacts_strategy, agents_strategy)
def test_every_offer_respects_language_skill_level_and_overflow_time(contacts, agents) -> None:  # type: ignore[no-untyped-def]
    offers, by_contact, by_agent = _run(contacts, agents)
    for offer in offers:
        c, a, r = by_contact[offer.contact_id], by_agent[offer.agent_id], offer.reason
        assert c.language in a.languages
        assert a.id not in c.passed_by, "never back to an agent who passed it on"
        assert r.required_level == _required(c)
        if r.rule == "skill":
            assert a.skills[c.case_type] >= r.required_level == _required(c)
            assert r.via_queue == c.queue
        else:
            queue = QUEUES[c.queue]
            assert r.rule == "overflow"
            assert queue.overflow_after_seconds is not None
            assert _waited(c) >= queue.overflow_after_seconds
            assert r.via_queue in queue.overflow_to
            assert _members(a, r.via_queue)


@settings(max_examples=200)
@given(contacts_strategy, agents_strategy)
def test_no_contact_is_left_waiting_while_an_eligible_agent_has_room(contacts, agents) -> None:  # type: ignore[no-untyped-def]
    offers, by_contact, _ = _run(contacts, agents)
    used = Counter((o.agent_id, by_contact[o.contact_id].channel) for o in offers)
    offered = {o.contact_id for o in offers}
    for c in contacts:
        if c.id in offered:
            continue
        for a in agents:
            room = a.free.get(c.channel, 0) - used[(a.id, c.channel)]
            assert not (room > 0 and _eligible(c, a)), (c, a)


@settings(max_examples=200)
@given(contacts_strategy, agents_strategy)
def test_a_more_urgent_eligible_contact_is_never_passed_over(contacts, agents) -> None:  # type: ignore[no-untyped-def]
    offers, by_contact, by_agent = _run(contacts, agents)
    offered = {o.contact_id for o in offers}
    for offer in offers:
        d, a = by_contact[offer.contact_id], by_agent[offer.agent_id]
        for c in contacts:
            if c.id in offered or c.channel != d.channel:
                continue
            if _urgency(c) < _urgency(d):
                assert not _eligible(c, a), f"{c} was more urgent than {d} and fit agent {a.id}"


@settings(max_examples=200)
@given(contacts_strategy.filter(lambda cs: len(cs) >= 1), agents_strategy)
def test_a_lone_contact_goes_to_the_highest_skill_then_the_longest_idle(contacts, agents) -> None:  # type: ignore[no-untyped-def]
    c = contacts[0]
    offers = route([c], agents, QUEUES, NOW)
    skilled = [
        a
        for a in agents
        if a.free.get(c.channel, 0) > 0
        and c.language in a.languages
        and a.id not in c.passed_by
        and a.skills.get(c.case_type, 0) >= _required(c)
    ]
    if skilled:
        best = min(skilled, key=lambda a: (-a.skills[c.case_type], a.idle_since, a.id))
        assert [o.agent_id for o in offers] == [best.id]
        assert offers[0].reason.rule == "skill"


@given(st.integers(0, 1000))
def test_widening_follows_every_step_in_order(waited: int) -> None:
    queue = QUEUES["family"]
    step = queue.step_at(waited)
    assert queue.bullseye[step].after_seconds <= waited
    if step + 1 < len(queue.bullseye):
        assert waited < queue.bullseye[step + 1].after_seconds
    # Never skips: each step is in force at its own threshold.
    assert [queue.step_at(s.after_seconds) for s in queue.bullseye] == [0, 1, 2]


def _agent(i: int, skill: int, idle: int, **free: int) -> AgentView:
    return AgentView(
        id=i,
        skills={"family": skill},
        languages=frozenset({Language.DA}),
        free={Channel(k): v for k, v in free.items()},
        idle_since=NOW - timedelta(seconds=idle),
    )


def _contact(
    i: int,
    waited: int,
    due_in: int,
    *,
    case_type: str = "family",
    channel: Channel = Channel.CALL,
    priority: int | None = None,
) -> WaitingContact:
    """A waiting contact; its priority is its queue's unless given (as intake sets it)."""
    queue = QUEUE_OF[case_type]
    return WaitingContact(
        id=i,
        channel=channel,
        language=Language.DA,
        case_type=case_type,
        queue=queue,
        priority=QUEUES[queue].priority if priority is None else priority,
        due_at=NOW + timedelta(seconds=due_in),
        waiting_since=NOW - timedelta(seconds=waited),
    )


def test_the_contact_closest_to_its_deadline_goes_first_across_channels() -> None:
    calm = _contact(1, waited=200, due_in=600)
    urgent = _contact(2, waited=10, due_in=20)
    offers = route([calm, urgent], [_agent(7, 5, 0, call=1)], QUEUES, NOW)
    assert [(o.contact_id, o.agent_id) for o in offers] == [(2, 7)]


def _taken_first(contacts: list[WaitingContact], policy: Policy = CONTACTD) -> list[int]:
    """The contact an agent who handles everything, with room for one call and one ticket,
    is offered on each channel."""
    anyone = AgentView(
        id=7,
        skills=dict.fromkeys(CASE_TYPES, 5),
        languages=frozenset({Language.DA}),
        free={Channel.CALL: 1, Channel.TICKET: 1},
        idle_since=NOW,
    )
    return [o.contact_id for o in route(contacts, [anyone], QUEUES, NOW, policy=policy)]


def test_an_asylum_call_due_later_goes_after_a_family_call_due_sooner() -> None:
    asylum = _contact(1, waited=100, due_in=200, case_type="asylum")  # queue priority 30
    family = _contact(2, waited=10, due_in=60)  # queue priority 20
    assert _taken_first([asylum, family]) == [2]
    # Strict priority, contactd's order before issue 21, took the asylum call first.
    assert _taken_first([asylum, family], Policy(priority="first")) == [1]


def test_an_appointment_ticket_goes_before_an_earlier_due_normal_ticket() -> None:
    normal = _contact(1, waited=600, due_in=1200, channel=Channel.TICKET)
    booked = _contact(2, waited=0, due_in=1800, channel=Channel.TICKET, priority=20 + 5)
    assert _taken_first([normal, booked]) == [2]


def test_an_own_priority_goes_first_across_queues_too() -> None:
    asylum = _contact(1, waited=600, due_in=60, case_type="asylum", channel=Channel.TICKET)
    helped = _contact(
        2, waited=0, due_in=1800, case_type="general", channel=Channel.TICKET, priority=0 + 3
    )
    assert _taken_first([asylum, helped]) == [2]


def test_at_equal_due_times_the_higher_queue_priority_goes_first() -> None:
    family = _contact(1, waited=300, due_in=100)
    asylum = _contact(2, waited=0, due_in=100, case_type="asylum")
    assert _taken_first([family, asylum]) == [2]


def test_a_priority_below_the_queues_is_none_of_its_own_and_goes_by_its_promise() -> None:
    """A family call transferred to asylum keeps its priority 20: below asylum's 30, it has
    none of its own, and goes by its due time like the asylum calls."""
    moved = _contact(1, waited=0, due_in=60, case_type="asylum", priority=20)
    asylum = _contact(2, waited=300, due_in=120, case_type="asylum")
    assert _taken_first([moved, asylum]) == [1]


def test_a_new_family_call_waits_for_a_level_3_agent_then_widens() -> None:
    junior = _agent(1, skill=1, idle=1000, call=1)
    assert route([_contact(1, waited=10, due_in=290)], [junior], QUEUES, NOW) == []
    offers = route([_contact(1, waited=130, due_in=170)], [junior], QUEUES, NOW)
    assert [o.agent_id for o in offers] == [1]
    assert offers[0].reason.as_dict() == {
        "rule": "skill",
        "step": 2,
        "required_level": 1,
        "skill": 1,
        "waited_seconds": 130.0,
        "via_queue": "family",
    }


def test_after_its_overflow_time_a_contact_may_go_to_an_overflow_queues_agent() -> None:
    triage = AgentView(
        id=9,
        skills={"general": 2},
        languages=frozenset({Language.DA}),
        free={Channel.CALL: 1},
        idle_since=NOW,
    )
    assert route([_contact(1, waited=299, due_in=1)], [triage], QUEUES, NOW) == []
    offers = route([_contact(1, waited=301, due_in=-1)], [triage], QUEUES, NOW)
    assert [(o.agent_id, o.reason.rule, o.reason.via_queue) for o in offers] == [
        (9, "overflow", "general")
    ]


@settings(max_examples=100)
@given(contacts_strategy, agents_strategy)
def test_contacts_given_in_urgency_order_need_no_sort(contacts, agents) -> None:  # type: ignore[no-untyped-def]
    ordered = sorted(contacts, key=_urgency)
    assert ordered == sorted(contacts, key=order_of(CONTACTD, QUEUES))
    assert route(ordered, agents, QUEUES, NOW, presorted=True) == route(
        contacts, agents, QUEUES, NOW
    )
