"""docs/tour.md, run as written: the first block (`make dev`) in the background, then every other block in
order, in one shell session as a learner's second terminal, against that stack."""

import os
import re
import signal
import subprocess
import time

import pytest

from devstack import ROOT
from devstack.localstack import free_port

TOUR = (ROOT / "docs" / "tour.md").read_text()
BLOCKS = re.findall(r"```bash\n(.*?)```", TOUR, re.S)


@pytest.fixture
def learner(private_dir):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "AWS_ENDPOINT_URL", "QUEUE_NAME")}
    api_port, localstack_port = free_port(), free_port()
    data = private_dir / "data"
    env |= {"TASKFLOW_DATA_DIR": str(data), "API_PORT": str(api_port), "LOCALSTACK_PORT": str(localstack_port)}

    def localized(block: str) -> str:
        """The block pointed at this test's stack: its data directory and ports."""
        return block.replace(".data/", f"{data}/").replace(".data ", f"{data} ").replace(
            ":8000", f":{api_port}").replace(":4566", f":{localstack_port}")  # fmt: skip

    return env, data, localized


def test_every_command_of_the_tour_runs(learner):
    env, data, localized = learner
    assert "make dev" in BLOCKS[0] and len(BLOCKS) >= 6
    stack = subprocess.Popen(["bash", "-c", localized(BLOCKS[0])], cwd=ROOT, env=env, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while "Taskflow is up." not in ((data / "dev.log").read_text() if (data / "dev.log").exists() else ""):
            assert stack.poll() is None and time.monotonic() < deadline, "make dev did not come up"
            time.sleep(0.5)
        # One shell for the second terminal: what a block exports, the next blocks see.
        session = "\n".join(f"echo '=== block {i}'\n{localized(block)}" for i, block in enumerate(BLOCKS[1:], 1))
        ran = subprocess.run(["bash", "-euo", "pipefail", "-c", session], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=180)  # fmt: skip
        assert ran.returncode == 0, f"{ran.stdout[-3000:]}\n{ran.stderr[-3000:]}"
    finally:
        os.killpg(stack.pid, signal.SIGINT)
        stack.wait(60)
    out = ran.stdout
    assert '"correlation_id":"tour-1"' in out.replace(" ", "")
    assert '"outcome":"succeeded"' in out and '"status": "succeeded"' in out
    assert re.search(r"=== block 5\n(?:.*\n)*?5\n", out), "the broken message was refused five times"
    assert "this is not a task" in out.split("=== block 6")[1]
