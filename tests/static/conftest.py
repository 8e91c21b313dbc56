"""Checks of what cannot run here (no Docker engine, no AWS account): the files themselves, read as data."""

from pathlib import Path

import pytest
import yaml
from dockerfile_parse import DockerfileParser

from devstack.processes import service_commands
from taskflow.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
# The commands the native tests run, as a container runs them.
NATIVE_COMMANDS = service_commands(8000, python="python", host="0.0.0.0")
SETTING_NAMES = {name.upper() for name in Settings.model_fields}


@pytest.fixture(scope="session")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def dockerfile(path: str) -> list[tuple[str, str]]:
    """(instruction, value) for each instruction of a Dockerfile in the repository."""
    return [(i["instruction"], i["value"]) for i in DockerfileParser(str(ROOT / path)).structure]
