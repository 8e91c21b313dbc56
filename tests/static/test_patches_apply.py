"""Every scenario's fault and every practical task's solution still applies to the code as it is now: a change
elsewhere that breaks one is caught here in a second, before the slower end-to-end proofs run."""

import subprocess

import pytest

from tests.static.conftest import ROOT

PATCHES = sorted([*ROOT.glob("scenarios/*/fault.patch"), *ROOT.glob("practical/*/solution.patch")])


@pytest.mark.parametrize("patch", PATCHES, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_the_patch_applies_to_the_current_code(patch):
    checked = subprocess.run(["git", "apply", "--check", str(patch)], cwd=ROOT, capture_output=True, text=True)
    assert checked.returncode == 0, f"{patch.relative_to(ROOT)} no longer applies; remake it:\n{checked.stderr}"
