"""Checks of what cannot run here (no Docker engine, no AWS account): the files themselves, read as data."""

import json
import shutil
from pathlib import Path

import pytest
import yaml
from dockerfile_parse import DockerfileParser

from api.settings import ApiSettings
from cli.settings import OperatorSettings
from devstack.processes import service_commands
from esm.settings import MappingSettings
from relay.settings import RelaySettings
from taskflow.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
# The commands the native tests run, as a container runs them.
NATIVE_COMMANDS = service_commands(8000, python="python", host="0.0.0.0")
# The shared settings and each process's own.
SETTINGS = (Settings, ApiSettings, RelaySettings, MappingSettings, OperatorSettings)
# Each setting as the first class that declares it has it (the shared default, not a process's required field).
SETTING_FIELDS = {name: field for kind in reversed(SETTINGS) for name, field in kind.model_fields.items()}
SETTING_NAMES = {name.upper() for name in SETTING_FIELDS}


@pytest.fixture(scope="session")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def dockerfile(path: str) -> list[tuple[str, str]]:
    """(instruction, value) for each instruction of a Dockerfile in the repository."""
    return [(i["instruction"], i["value"]) for i in DockerfileParser(str(ROOT / path)).structure]


def instructions(path: str, name: str) -> list[str]:
    """The values of every `name` instruction (FROM, ARG, ...) of a Dockerfile in the repository."""
    return [value for instruction, value in dockerfile(path) if instruction == name]


def copies(path: str) -> list[tuple[list[str], str]]:
    """(sources, destination) of each COPY of a Dockerfile, but those from another build stage."""
    found = []
    for instruction, value in dockerfile(path):
        if instruction == "COPY" and not value.startswith("--from"):
            *sources, destination = value.split()
            found.append((sources, destination))
    return found


TASK_ROOT_VARIABLE = "${LAMBDA_TASK_ROOT}"


def build_task_root(task_root: Path) -> str:
    """Copy into `task_root` what lambda/Dockerfile copies into LAMBDA_TASK_ROOT; return the handler its CMD names."""
    for sources, destination in copies("lambda/Dockerfile"):
        if not destination.startswith(TASK_ROOT_VARIABLE):
            continue
        target = Path(destination.replace(TASK_ROOT_VARIABLE, str(task_root)))
        for source in sources:
            # Docker's rules: into a directory when the destination ends in /, or names several sources.
            copied_to = target / Path(source).name if destination.endswith("/") else target
            copied_to.parent.mkdir(parents=True, exist_ok=True)
            if (ROOT / source).is_dir():
                shutil.copytree(ROOT / source, copied_to, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(ROOT / source, copied_to)
    (command,) = [value for instruction, value in dockerfile("lambda/Dockerfile") if instruction == "CMD"]
    (handler,) = json.loads(command)  # the exec form, a JSON array
    return handler
