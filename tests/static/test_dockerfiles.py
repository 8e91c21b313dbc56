"""The images: thin, non-root, healthy, and running the commands the native tests run."""

import fnmatch
import json

from devstack.processes import service_commands
from esm.settings import MappingSettings
from tests.static.conftest import ROOT, copies, instructions


def test_the_app_image_is_multi_stage_non_root_with_a_healthcheck_and_the_native_api_command():
    assert len(instructions("api/Dockerfile", "FROM")) >= 2
    assert instructions("api/Dockerfile", "USER")[-1] not in {"root", "0"}
    (healthcheck,) = instructions("api/Dockerfile", "HEALTHCHECK")
    assert "/health" in healthcheck
    (command,) = instructions("api/Dockerfile", "CMD")
    assert json.loads(command) == service_commands(8000, python="python", host="0.0.0.0")["api"]


def test_the_lambda_image_is_aws_base_image_with_only_the_consumers_requirements_and_names_the_handler():
    assert "LAMBDA_IMAGE=public.ecr.aws/lambda/python:3.12" in instructions("lambda/Dockerfile", "ARG")
    (install,) = instructions("lambda/Dockerfile", "RUN")
    assert '--requirement "${LAMBDA_TASK_ROOT}/requirements.txt"' in install
    assert (["lambda/requirements.txt"], "${LAMBDA_TASK_ROOT}/") in copies("lambda/Dockerfile")
    assert json.loads(instructions("lambda/Dockerfile", "CMD")[0]) == [MappingSettings().esm_function_handler]


def test_dockerignore_lets_in_exactly_what_the_dockerfiles_copy():
    patterns = [p for p in (ROOT / ".dockerignore").read_text().splitlines() if p and not p.startswith("#")]
    sources = set()
    for path in ("api/Dockerfile", "lambda/Dockerfile"):
        sources |= {source for copied, _ in copies(path) for source in copied}
    for source in sources:
        assert is_sent(source, patterns), f"{source} is copied but .dockerignore leaves it out"
    for pattern in patterns:
        if pattern.startswith("!"):
            assert pattern[1:].rstrip("/") in sources, f".dockerignore lets in {pattern[1:]}, which nothing copies"


def is_sent(path: str, patterns: list[str]) -> bool:
    """Whether Docker sends `path` to the builder: the last pattern matching it or a folder above it wins, `!` lets
    a path back in."""
    parts = path.split("/")
    itself_or_above = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    sent = True
    for pattern in patterns:
        if any(fnmatch.fnmatch(candidate, pattern.lstrip("!").rstrip("/")) for candidate in itself_or_above):
            sent = pattern.startswith("!")
    return sent
