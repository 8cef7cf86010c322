"""The contact's life cycle (docs/architecture.md, "The contact") and its client-facing
reference."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.contact import (
    REFERENCE_ALPHABET,
    Action,
    IllegalTransition,
    State,
    new_reference,
    next_state,
    normalise_reference,
)

# The state diagram of docs/architecture.md, written out by hand: (action, from) -> to.
# Every pair not listed here must be refused.
EXPECTED: dict[tuple[Action, State], State] = {
    (Action.OFFER, State.QUEUED): State.OFFERED,
    (Action.ACCEPT, State.OFFERED): State.ACTIVE,
    (Action.DECLINE, State.OFFERED): State.QUEUED,
    (Action.EXPIRE, State.OFFERED): State.QUEUED,
    (Action.FINISH, State.ACTIVE): State.DONE,
    (Action.REQUEUE, State.ACTIVE): State.QUEUED,
    (Action.ABANDON, State.QUEUED): State.ABANDONED,
    (Action.ABANDON, State.OFFERED): State.ABANDONED,
    (Action.CANCEL, State.QUEUED): State.CANCELLED,
    (Action.REOPEN, State.DONE): State.QUEUED,
}
CLOSED = (State.DONE, State.ABANDONED, State.CANCELLED)
GRID = [(action, state) for action in Action for state in State]


def state_after(action: Action, state: State) -> State | None:
    """The state `action` moves to, or None when it is refused."""
    try:
        return next_state(action, state)
    except ValueError:
        return None


@pytest.mark.parametrize(("action", "state"), GRID, ids=[f"{a}-from-{s}" for a, s in GRID])
def test_every_action_from_every_state_moves_as_designed_or_is_refused(
    action: Action, state: State
) -> None:
    expected = EXPECTED.get((action, state))
    if expected is None:
        with pytest.raises(ValueError, match=f"^{action} is not allowed from {state}$"):
            next_state(action, state)
    else:
        assert next_state(action, state) == expected


@pytest.mark.parametrize("state", CLOSED)
def test_a_closed_contact_can_only_be_reopened(state: State) -> None:
    accepted = [action for action in Action if state_after(action, state) is not None]

    # A reply to a finished e-mail reopens it; an abandoned or merged contact stays closed.
    assert accepted == ([Action.REOPEN] if state is State.DONE else [])


def test_illegal_transition_message_names_reference_state_and_what_the_action_needs() -> None:
    error = IllegalTransition(reference="K7MA-P3XR", action=Action.ACCEPT, state=State.QUEUED)

    assert str(error) == "cannot accept contact K7MA-P3XR: it is queued; accept needs offered"


def test_illegal_transition_message_lists_every_state_the_action_may_start_from() -> None:
    error = IllegalTransition(reference="K7MA-P3XR", action=Action.ABANDON, state=State.ACTIVE)

    assert str(error) == (
        "cannot abandon contact K7MA-P3XR: it is active; abandon needs offered, queued"
    )


@settings(max_examples=200)
@given(actions=st.lists(st.sampled_from(Action), max_size=60))
def test_any_sequence_of_actions_stays_in_the_states_and_only_reopen_leaves_a_closed_one(
    actions: list[Action],
) -> None:
    state = State.QUEUED
    for action in actions:
        before = state
        state = state_after(action, state) or state
        assert state in set(State)
        if before in CLOSED and state != before:
            assert (action, before, state) == (Action.REOPEN, State.DONE, State.QUEUED)


REFERENCE = re.compile(f"^[{REFERENCE_ALPHABET}]{{4}}-[{REFERENCE_ALPHABET}]{{4}}$")


def test_new_reference_is_two_groups_of_four_unambiguous_characters() -> None:
    references = [new_reference() for _ in range(500)]

    assert [r for r in references if not REFERENCE.match(r)] == []


def test_reference_alphabet_leaves_out_characters_people_confuse() -> None:
    assert set(REFERENCE_ALPHABET).isdisjoint("O0I1L")


@pytest.mark.parametrize(
    "typed",
    ["K7MA-P3XR", "k7ma-p3xr", "K7MAP3XR", "k7map3xr", "K7MA P3XR", " k7 ma p3 xr ", "K7mA-p3Xr"],
)
def test_normalise_reference_accepts_what_people_type(typed: str) -> None:
    assert normalise_reference(typed) == "K7MA-P3XR"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "K7MA-P3X",  # seven characters
        "K7MA-P3XRA",  # nine
        "K7MO-P3XR",  # O
        "K7M0-P3XR",  # zero
        "K7MI-P3XR",  # I
        "K7M1-P3XR",  # one
    ],
)
def test_normalise_reference_rejects_wrong_length_and_ambiguous_characters(typed: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"not a contact reference: {typed!r}")):
        normalise_reference(typed)


def test_a_new_reference_typed_in_lower_case_with_a_space_normalises_back_to_itself() -> None:
    references = [new_reference() for _ in range(500)]

    assert [normalise_reference(r.lower().replace("-", " ")) for r in references] == references
