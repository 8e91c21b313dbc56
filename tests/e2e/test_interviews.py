"""Every scenario, as an interviewer runs it: the candidate's workspace leads nowhere near the answer, and the
hidden check fails on it, rejects every weak fix, and accepts the reference fix and an alternative one."""

import subprocess

import pytest

from scenarios.catalog import ROOT, Scenario, all_scenarios
from scenarios.checking import run_check
from scenarios.workspace import INTERVIEWER_ONLY, apply_patch, guard_files, prepare_workspace

SCENARIOS = all_scenarios()
# pytest's exit code when tests ran and some failed (2 and up: collection errors, usage, nothing collected).
TESTS_FAILED = 1


@pytest.fixture(params=SCENARIOS, ids=lambda s: s.name)
def scenario(request) -> Scenario:
    return request.param


@pytest.fixture
def workspace(scenario, tmp_path):
    return prepare_workspace(scenario, tmp_path / "candidate")


def files_of(tree) -> dict[str, str]:
    listed = subprocess.run(["git", "ls-files"], cwd=tree, capture_output=True, text=True, check=True).stdout
    texts = {}
    for name in listed.splitlines():
        try:
            texts[name] = (tree / name).read_text()
        except UnicodeDecodeError:
            continue  # a picture
    return texts


def reference_lines(scenario: Scenario) -> list[str]:
    """The lines the fault took out of the code: the answer, which must not sit anywhere in the workspace."""
    removed = [line[1:].strip() for line in scenario.fault.read_text().splitlines()
               if line.startswith("-") and not line.startswith("---")]  # fmt: skip
    return [line for line in removed if len(line) >= 20]


def test_the_workspace_does_not_lead_to_the_answer(scenario, workspace):
    git = lambda *args: subprocess.run(["git", *args], cwd=workspace, capture_output=True, text=True).stdout  # noqa: E731
    assert len(git("log", "--format=%s").splitlines()) == 1 and git("status", "--porcelain") == ""
    texts = files_of(workspace)
    dated = {(workspace / name).lstat().st_mtime_ns for name in git("ls-files").splitlines()}
    assert len(dated) == 1, "the files' times set some apart: `find -newer` would name the patched ones"
    assert not any((workspace / kept).exists() for kept in INTERVIEWER_ONLY)
    assert not guard_files(scenario) & texts.keys()
    naming = [name for name, text in texts.items() if scenario.name in (name + text).lower()]
    assert naming == [], f"these files name the scenario: {naming}"
    for line in reference_lines(scenario):
        holding = [name for name, text in texts.items() if line in text]
        assert holding == [], f"the reference line {line!r} is in {holding}"
    ruff = subprocess.run([str(ROOT / ".venv/bin/ruff"), "check", "--no-cache", "."], cwd=workspace,
                          capture_output=True, text=True)  # fmt: skip
    assert ruff.returncode == 0, ruff.stdout


@pytest.fixture
def check(scenario, workspace, postgres_server_url, sqs_endpoint, monkeypatch):
    """Run the scenario's check on the workspace as it is now; its output, and whether it passed."""
    monkeypatch.setenv("DATABASE_URL", postgres_server_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL", sqs_endpoint)

    def run() -> tuple[int, str]:
        ran = run_check(scenario, workspace, "-x", capture=True)
        return ran.returncode, ran.stdout[-3000:] + ran.stderr[-2000:]

    return run


def test_the_check_rejects_the_fault_and_weak_fixes_and_accepts_good_ones(scenario, workspace, check):
    code, output = check()
    assert code == TESTS_FAILED, f"with the fault:\n{output}"
    for weak in scenario.weak_fixes:
        apply_patch(workspace, weak)
        code, output = check()
        assert code == TESTS_FAILED, f"{weak.name} was not rejected:\n{output}"
        apply_patch(workspace, weak, reverse=True)
    apply_patch(workspace, scenario.alternative_fix)
    code, output = check()
    assert code == 0, f"the alternative fix was rejected:\n{output}"
    apply_patch(workspace, scenario.alternative_fix, reverse=True)
    apply_patch(workspace, scenario.fault, reverse=True)
    code, output = check()
    assert code == 0, f"the reference fix was rejected:\n{output}"
