"""The interview kit's scenarios are complete: twelve or more, four or more per level, each with its time,
skills, a candidate briefing, interviewer notes with a scoring sheet, two weak fixes and an alternative one."""

import re
from collections import Counter

import pytest

from scenarios.catalog import LEVELS, all_scenarios
from tests.static.conftest import ROOT

SCENARIOS = all_scenarios()


def test_twelve_scenarios_four_per_level():
    levels = Counter(s.level for s in SCENARIOS)
    assert len(SCENARIOS) >= 12 and all(levels[level] >= 4 for level in LEVELS), levels


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_the_scenario_has_everything_an_interview_needs(scenario):
    assert 15 <= scenario.minutes <= 90 and scenario.skills
    briefing = scenario.briefing.read_text()
    assert briefing.startswith("# ") and "## How to start" in briefing
    notes = (scenario.folder / "interviewer.md").read_text()
    scoring = notes[notes.index("## Scoring"):]
    assert all(credit in scoring for credit in ("Full credit", "Partial credit", "No credit")), scoring
    assert len(scenario.weak_fixes) >= 2 and scenario.alternative_fix.exists()
    for guard in scenario.guards:
        assert (ROOT / guard.split("::")[0]).exists(), f"{guard} is not a test file of this project"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_a_migration_the_fault_adds_follows_the_current_head(scenario):
    """Else alembic sees two heads, and the check fails for a reason that is not the scenario's."""
    added = re.search(r'^\+down_revision = "(\d+)"', scenario.fault.read_text(), re.MULTILINE)
    if added:
        heads = sorted(p.name.split("_")[3] for p in (ROOT / "alembic" / "versions").glob("*.py"))
        assert added.group(1) == heads[-1], f"the fault's migration revises {added.group(1)}, the head is {heads[-1]}"
