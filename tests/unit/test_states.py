import pytest

from taskflow.domain.errors import IllegalTransition
from taskflow.domain.states import TaskStatus, check_transition, is_finished

S = TaskStatus
# Every legal move, written out here independently of the code; the tests check these are allowed and every other
# pair (succeeded or cancelled to anything included) is refused.
LEGAL_TARGETS = {
    S.WAITING: {S.PENDING, S.SCHEDULED, S.CANCELLED},
    S.SCHEDULED: {S.RUNNING, S.PENDING, S.CANCELLED, S.FAILED},
    S.PENDING: {S.QUEUED, S.SCHEDULED, S.RUNNING, S.CANCELLED, S.FAILED},
    S.QUEUED: {S.RUNNING, S.SCHEDULED, S.CANCELLED, S.FAILED},
    S.RUNNING: {S.SUCCEEDED, S.FAILED, S.RUNNING, S.QUEUED},
    S.FAILED: {S.QUEUED},
}
LEGAL = [(current, target) for current, targets in LEGAL_TARGETS.items() for target in sorted(targets)]


@pytest.mark.parametrize(("current", "target"), LEGAL)
def test_legal_transitions_are_allowed(current, target):
    assert check_transition(current, target) is target


@pytest.mark.parametrize(
    ("current", "target"),
    [(c, t) for c in S for t in S if (c, t) not in LEGAL],
)
def test_every_other_transition_is_refused(current, target):
    with pytest.raises(IllegalTransition, match=f"from {current} to {target}"):
        check_transition(current, target)


def test_finished_statuses():
    assert {s for s in S if is_finished(s)} == {S.SUCCEEDED, S.FAILED, S.CANCELLED}
