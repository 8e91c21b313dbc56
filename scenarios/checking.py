"""Run a scenario's check against a source tree: the candidate's workspace, or this checkout for self-study.

The check and the guarding tests come from this checkout; the code they exercise (every package, lambda/, the
migrations) comes from the tree under test, so a candidate can neither see nor edit what judges their fix."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from devstack.localstack import LOCALSTACK_PYTHON
from scenarios.catalog import ROOT, Scenario

# The packages of pyproject.toml; lambda/ and alembic/ are found through devstack.ROOT, the tree they sit in.
CODE_PACKAGES = ["taskflow", "api", "relay", "esm", "cli", "devstack"]


def run_check(scenario: Scenario, tree: Path, *pytest_args: str, capture: bool = False) -> subprocess.CompletedProcess:
    """Run the check and the guarding tests of `scenario` on the code of `tree`; returncode 0 means solved."""
    with tempfile.TemporaryDirectory(prefix="scenario-code-") as code:
        for package in CODE_PACKAGES:
            Path(code, package).symlink_to(tree.resolve() / package)
        tests = [str(scenario.check), *(str(ROOT / guard) for guard in scenario.guards)]
        # -P and --import-mode=append: the tree under test comes first on sys.path, this checkout's tests last.
        # A guard that hangs on a leaked lock fails after two minutes, not the suite's five.
        command = [sys.executable, "-P", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--import-mode=append",
                   "--timeout=120", "--rootdir", str(ROOT), *pytest_args, *tests]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": code, "LOCALSTACK_PYTHON": str(LOCALSTACK_PYTHON)}
        return subprocess.run(command, cwd=ROOT, env=env, capture_output=capture, text=True)
