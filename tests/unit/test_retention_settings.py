"""The relay's retention settings: ISO 8601 durations or "forever"; nothing that would prune what was just written."""

from datetime import timedelta

import pytest
from pydantic import ValidationError

from relay.settings import RelaySettings


@pytest.mark.parametrize(("given", "kept"), [("P30D", timedelta(days=30)), ("PT12H", timedelta(hours=12)),
                                             ("forever", None), ("Forever", None)])  # fmt: skip
def test_a_retention_is_a_duration_or_forever(given, kept):
    assert RelaySettings(_env_file=None, retain_finished_tasks=given).retain_finished_tasks == kept


@pytest.mark.parametrize("given", ["P0D", "-P1D", "PT0S", "garbage", "0"])
def test_a_retention_of_zero_or_less_or_of_nonsense_is_refused(given):
    with pytest.raises(ValidationError, match="retain_dead_letters"):
        RelaySettings(_env_file=None, retain_dead_letters=given)


@pytest.mark.parametrize(("field", "given"), [("prune_batch_size", 0), ("prune_batch_size", -5),
                                              ("prune_interval_seconds", 0)])  # fmt: skip
def test_pruning_needs_a_batch_and_an_interval(field, given):
    with pytest.raises(ValidationError, match=field):
        RelaySettings(_env_file=None, **{field: given})


def test_the_relay_prunes_what_tasks_depend_on_before_the_tasks():
    order = list(RelaySettings(_env_file=None).retention)
    assert order.index("finished_tasks") == len(order) - 1, "letters and deliveries first: they keep tasks"
