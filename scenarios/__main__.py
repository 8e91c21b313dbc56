"""Debugging scenarios: a realistic fault planted in the working tree, and a hidden check that says when it is fixed.

python -m scenarios                  list them, with their symptoms
python -m scenarios setup NAME       plant NAME's fault (scenarios/NAME/fault.patch) in the working tree
python -m scenarios check NAME       run NAME's check (scenarios/NAME/check.py): exit 0 when solved, 1 when not
python -m scenarios reset            take the planted fault out again (also undoes edits to the files it touched)

The candidate reads scenarios/NAME/symptom.md only; scenarios/NAME/interviewer.md and check.py are for the
interviewer. The reference fix of each scenario is the fault taken out again (`reset`).
"""

import subprocess
import sys
from pathlib import Path

SCENARIOS = Path(__file__).resolve().parent
ROOT = SCENARIOS.parent
ACTIVE = ROOT / ".scenario"


def names() -> list[str]:
    """Every scenario, in order."""
    return sorted(p.name for p in SCENARIOS.iterdir() if (p / "fault.patch").exists())


def symptom(name: str) -> str:
    """The first line of a scenario's symptom (its title)."""
    return (SCENARIOS / name / "symptom.md").read_text().splitlines()[0].lstrip("# ")


def git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)


def setup(name: str) -> None:
    """Plant `name`'s fault; refuse while another scenario is planted."""
    if ACTIVE.exists():
        sys.exit(f"scenario {ACTIVE.read_text().strip()} is set up: run `make scenario-reset` first")
    applied = git("apply", str(SCENARIOS / name / "fault.patch"))
    if applied.returncode != 0:
        sys.exit(f"could not plant {name} (has the code changed under it?):\n{applied.stderr}")
    ACTIVE.write_text(name + "\n")
    print(f"scenario {name} is set up. Read scenarios/{name}/symptom.md; `make scenario-check NAME={name}` tells")
    print("you when it is solved, and `make scenario-reset` puts the tree back.")


def reset() -> None:
    """Take the planted fault out: reverse its patch, or restore the files it touched if they were edited."""
    if not ACTIVE.exists():
        print("no scenario is set up")
        return
    patch = SCENARIOS / ACTIVE.read_text().strip() / "fault.patch"
    if git("apply", "--reverse", str(patch)).returncode != 0:
        touched = [line.split("\t")[-1] for line in git("apply", "--numstat", str(patch)).stdout.splitlines()]
        restored = git("checkout", "HEAD", "--", *touched)
        if restored.returncode != 0:
            sys.exit(f"could not restore {touched}:\n{restored.stderr}")
    ACTIVE.unlink()
    print("the working tree is back to the code without the fault")


def check(name: str) -> int:
    """Run the scenario's check; 0 when solved."""
    check_file = SCENARIOS / name / "check.py"
    ran = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(check_file)], cwd=ROOT)
    print(f"\nscenario {name}: {'SOLVED' if ran.returncode == 0 else 'NOT SOLVED YET'}")
    return 0 if ran.returncode == 0 else 1


def main(argv: list[str]) -> int:
    if not argv or argv == ["list"]:
        for name in names():
            print(f"  {name:<28} {symptom(name)}")
        print("\nmake scenario NAME=...  |  make scenario-check NAME=...  |  make scenario-reset")
        return 0
    command, *rest = argv
    if command == "reset":
        reset()
        return 0
    if not rest or rest[0] not in names():
        sys.exit(f"name a scenario: {', '.join(names())}")
    if command == "setup":
        setup(rest[0])
        return 0
    if command == "check":
        return check(rest[0])
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
