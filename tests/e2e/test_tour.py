"""docs/tour.md, run as written: the first block (`make dev`) in the background, then every other block in
order, in one shell session as a learner's second terminal, against that stack."""

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from devstack import ROOT
from tests.ports import free_devstack_port, free_port
from tests.waiting import wait_until

TOUR = (ROOT / "docs" / "tour.md").read_text()
BLOCKS = re.findall(r"```bash\n(.*?)```", TOUR, re.S)


@pytest.fixture
def learner(private_dir):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "AWS_ENDPOINT_URL", "QUEUE_NAME")}
    api_port, localstack_port = free_devstack_port(), free_port()
    data = private_dir / "data"
    env |= {"TASKFLOW_DATA_DIR": str(data), "API_PORT": str(api_port), "LOCALSTACK_PORT": str(localstack_port)}

    def localized(block: str) -> str:
        """The block pointed at this test's data directory; its ports come from .data/dev.env, as a learner's do."""
        return block.replace(".data/", f"{data}/").replace(".data ", f"{data} ")

    return env, data, localized


def is_up(stack: subprocess.Popen, log: Path) -> bool:
    assert stack.poll() is None, "make dev exited"
    return log.exists() and "Taskflow is up." in log.read_text()


def test_every_command_of_the_tour_runs(learner):
    env, data, localized = learner
    assert not re.search(r":(8000|4566)\b", "".join(BLOCKS[1:])), "the tour follows .data/dev.env, not default ports"
    assert "make dev" in BLOCKS[0] and len(BLOCKS) >= 6
    stack = subprocess.Popen(["bash", "-c", localized(BLOCKS[0])], cwd=ROOT, env=env, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        wait_until(lambda: is_up(stack, data / "dev.log"), 180, "make dev coming up")
        # One shell for the second terminal: what a block exports, the next blocks see.
        session = "\n".join(f"echo '=== block {i}'\n{localized(block)}" for i, block in enumerate(BLOCKS[1:], 1))
        ran = subprocess.run(["bash", "-euo", "pipefail", "-c", session], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=180)  # fmt: skip
        assert ran.returncode == 0, f"{ran.stdout[-3000:]}\n{ran.stderr[-3000:]}"
    finally:
        os.killpg(stack.pid, signal.SIGINT)
        stack.wait(60)
    out = ran.stdout
    assert "Warning" not in (data / "dev.log").read_text(), "make dev starts without a warning"
    assert '"correlation_id":"tour-1"' in out.replace(" ", "")
    assert '"outcome":"succeeded"' in out and '"status": "succeeded"' in out
    assert out.split("=== block 4")[1].startswith("\n200 text/html"), "the dashboard answers"
    broken = out.split("=== block 6")[1]
    assert "this is not a task" in broken and "delivered 5x" in broken, "the operator's view as the tour quotes it"
    assert broken.rstrip().endswith("\n5"), "the broken message was refused five times"
