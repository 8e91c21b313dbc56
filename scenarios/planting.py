"""Self-study mode: plant a scenario's fault in this working tree, and take it out again. It shows the answer
(`git diff`), so interviews use a workspace (`make interview`) instead."""

import subprocess

from scenarios.catalog import ROOT, Scenario, scenario
from scenarios.workspace import apply_patch

ACTIVE = ROOT / ".scenario"


def git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)


def plant(planted: Scenario) -> None:
    """Plant the fault; refuse while another scenario is planted."""
    if ACTIVE.exists():
        raise RuntimeError(f"scenario {ACTIVE.read_text().strip()} is set up: run `make scenario-reset` first")
    apply_patch(ROOT, planted.fault)
    ACTIVE.write_text(planted.name + "\n")


def take_out() -> str | None:
    """Take the planted fault out (reverse its patch, or restore the files it touched if they were edited);
    return the scenario's name, or None when none was planted."""
    if not ACTIVE.exists():
        return None
    planted = scenario(ACTIVE.read_text().strip())
    if git("apply", "--reverse", str(planted.fault)).returncode != 0:
        touched = [line.split("\t")[-1] for line in git("apply", "--numstat", str(planted.fault)).stdout.splitlines()]
        restored = git("checkout", "HEAD", "--", *touched)
        if restored.returncode != 0:
            raise RuntimeError(f"could not restore {touched}:\n{restored.stderr}")
    ACTIVE.unlink()
    return planted.name
