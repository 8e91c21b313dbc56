"""Checks of what cannot run here (no Docker engine, no AWS account): the files themselves, read as data."""

from pathlib import Path

import pytest
import yaml
from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def dockerfile(path: str) -> list[tuple[str, str]]:
    """(instruction, value) for each instruction of a Dockerfile in the repository."""
    return [(i["instruction"], i["value"]) for i in DockerfileParser(str(ROOT / path)).structure]
