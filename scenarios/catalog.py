"""The scenarios on disk: each folder under scenarios/ with a fault.patch and a scenario.toml."""

import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

SCENARIOS = Path(__file__).resolve().parent
ROOT = SCENARIOS.parent
LEVELS = ("junior", "mid", "senior")


@dataclass(frozen=True)
class Scenario:
    """One debugging scenario: a fault, what the candidate is told, and how the interviewer checks it."""

    name: str

    @property
    def folder(self) -> Path:
        return SCENARIOS / self.name

    @property
    def fault(self) -> Path:
        return self.folder / "fault.patch"

    @property
    def check(self) -> Path:
        return self.folder / "check.py"

    @property
    def briefing(self) -> Path:
        return self.folder / "briefing.md"

    @cached_property
    def facts(self) -> dict:
        return tomllib.loads((self.folder / "scenario.toml").read_text())

    @property
    def title(self) -> str:
        return self.briefing.read_text().splitlines()[0].lstrip("# ")

    @property
    def level(self) -> str:
        return self.facts["level"]

    @property
    def minutes(self) -> int:
        return self.facts["minutes"]

    @property
    def skills(self) -> list[str]:
        return self.facts["skills"]

    @property
    def guards(self) -> list[str]:
        """The project's tests that fail with the fault: left out of the candidate's workspace, run by the check."""
        return self.facts.get("guards", [])

    @property
    def weak_fixes(self) -> list[Path]:
        return sorted(self.folder.glob("fixes/weak-*.patch"))

    @property
    def alternative_fix(self) -> Path:
        return self.folder / "fixes" / "alternative.patch"


def all_scenarios() -> list[Scenario]:
    """Every scenario, by level and then by name."""
    found = [Scenario(p.parent.name) for p in SCENARIOS.glob("*/fault.patch")]
    return sorted(found, key=lambda s: (LEVELS.index(s.level), s.name))


def scenario(name: str) -> Scenario:
    """The scenario called `name`; KeyError names the ones there are."""
    for found in all_scenarios():
        if found.name == name:
            return found
    raise KeyError(f"no scenario {name!r}: {', '.join(s.name for s in all_scenarios())}")
