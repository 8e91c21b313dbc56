"""The app image's HEALTHCHECK command, run as Docker would, against the API the native tests start."""

import json
import subprocess
import sys

from tests.ports import free_port
from tests.static.conftest import dockerfile


def healthcheck_command(port: int) -> list[str]:
    (value,) = [v for instruction, v in dockerfile("api/Dockerfile") if instruction == "HEALTHCHECK"]
    command = json.loads(value[value.index("CMD") + 3 :])
    return [sys.executable if part == "python" else part.replace(":8000", f":{port}") for part in command]


def test_the_healthcheck_passes_on_a_running_api_and_fails_without_one(stack):
    port = int(stack.base_url.rsplit(":", 1)[1])
    assert subprocess.run(healthcheck_command(port), capture_output=True).returncode == 0
    assert subprocess.run(healthcheck_command(free_port()), capture_output=True).returncode != 0
