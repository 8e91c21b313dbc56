import pytest

from taskflow.domain.errors import IllegalTransition
from taskflow.domain.states import TaskStatus, check_transition, is_finished

S = TaskStatus
LEGAL = [
    (S.PENDING, S.QUEUED),
    (S.PENDING, S.RUNNING),
    (S.PENDING, S.CANCELLED),
    (S.PENDING, S.FAILED),
    (S.QUEUED, S.RUNNING),
    (S.QUEUED, S.CANCELLED),
    (S.QUEUED, S.FAILED),
    (S.RUNNING, S.SUCCEEDED),
    (S.RUNNING, S.FAILED),
    (S.RUNNING, S.RUNNING),
    (S.RUNNING, S.QUEUED),
    (S.FAILED, S.QUEUED),
]


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


def test_a_succeeded_or_cancelled_task_can_never_change_again():
    for finished in (S.SUCCEEDED, S.CANCELLED):
        for target in S:
            with pytest.raises(IllegalTransition):
                check_transition(finished, target)


def test_finished_statuses():
    assert {s for s in S if is_finished(s)} == {S.SUCCEEDED, S.FAILED, S.CANCELLED}
