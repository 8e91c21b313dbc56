"""The candidate's workspace: a fresh git repository of one commit with a scenario's fault already in it, and
nothing that leads to the answer (no scenarios, no interviewer notes, no practical solutions, no history, none of
the tests that would name the fault)."""

import io
import os
import subprocess
import tarfile
import tempfile
from pathlib import Path

from scenarios.catalog import ROOT, Scenario

# What an interviewer keeps to themselves, whatever the scenario.
INTERVIEWER_ONLY = [
    "scenarios",
    "INTERVIEW_QUESTIONS.md",
    "practical/task-result/solution.patch",
    "practical/csv-summary/solution.patch",
    "practical/create-rate-limit/solution.patch",
    "tests/e2e/test_practical.py",
    "tests/e2e/test_scenarios.py",
    "tests/e2e/test_interviews.py",
    "tests/e2e/test_provoke.py",
    "tests/static/test_patches_apply.py",
    "tests/static/test_scenario_catalog.py",
    "tests/static/test_interview_questions.py",
]
CANDIDATE_RULES = ROOT / "scenarios" / "candidate-rules.md"
CANDIDATE = "-c", "user.name=candidate", "-c", "user.email=candidate@example.com"


def prepare_workspace(scenario: Scenario, target: Path) -> Path:
    """Write `scenario`'s workspace into `target` (new or empty) and return it."""
    target.mkdir(parents=True, exist_ok=True)
    if any(target.iterdir()):
        raise FileExistsError(f"{target} is not empty: the workspace goes into a new folder")
    with tempfile.TemporaryDirectory(prefix="workspace-") as staging:
        tree = Path(staging)
        export_head(tree)
        apply_patch(tree, scenario.fault)
        for name in [*INTERVIEWER_ONLY, *guard_files(scenario)]:
            remove(tree / name)
        (tree / "BRIEFING.md").write_text(scenario.briefing.read_text() + CANDIDATE_RULES.read_text())
        commit_everything(tree)
        clone_in_one_pass(tree, target)
    return target


def export_head(target: Path) -> None:
    """The committed tree of this checkout (what `git archive HEAD` gives: no local edits, no ignored files)."""
    archive = subprocess.run(["git", "archive", "--format=tar", "HEAD"], cwd=ROOT, capture_output=True, check=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")


def apply_patch(tree: Path, patch: Path, *, reverse: bool = False) -> subprocess.CompletedProcess:
    """`git apply` `patch` to `tree`; raises with git's message when it does not apply."""
    command = ["git", "apply", *(["--reverse"] if reverse else []), str(patch)]
    applied = subprocess.run(command, cwd=tree, capture_output=True, text=True)
    if applied.returncode != 0:
        raise RuntimeError(f"{patch.name} does not apply to {tree}:\n{applied.stderr}")
    return applied


def guard_files(scenario: Scenario) -> set[str]:
    """The test files holding the scenario's guarding tests (a node id names its file before '::')."""
    return {guard.split("::")[0] for guard in scenario.guards}


def remove(path: Path) -> None:
    if path.is_dir():
        subprocess.run(["rm", "-rf", str(path)], check=True)
    else:
        path.unlink(missing_ok=True)


def commit_everything(tree: Path) -> None:
    """One commit with a neutral message, as if the candidate's team had just shared the repository."""

    def git(*args: str) -> None:
        subprocess.run(["git", *CANDIDATE, *args], cwd=tree, capture_output=True, check=True)

    git("init", "--quiet", "--initial-branch=main")
    git("add", "--all")
    git("commit", "--quiet", "--message", "taskflow")


def clone_in_one_pass(staging: Path, target: Path) -> None:
    """`staging`'s one commit, cloned into `target` with every file and folder dated to the commit: written in
    place, the patched files would be the newest (and the last created), and `find -newer` would name them."""
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(staging), str(target)], check=True)
    subprocess.run(["git", "remote", "remove", "origin"], cwd=target, check=True)
    committed = int(subprocess.run(["git", "log", "-1", "--format=%ct"], cwd=target, capture_output=True, text=True,
                                   check=True).stdout)  # fmt: skip
    for folder, folders, files in os.walk(target):
        folders[:] = [name for name in folders if not (folder == str(target) and name == ".git")]
        for name in files:
            os.utime(os.path.join(folder, name), (committed, committed), follow_symlinks=False)
        os.utime(folder, (committed, committed))
