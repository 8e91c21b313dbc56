"""The peer's processes for `make bench`: Debian's redis-server, the peer's API under uvicorn with the settings this
project's API runs with, and the Celery worker; on a database of their own."""

import shutil
import sys
from pathlib import Path

import psycopg

from devstack.processes import ProcessGroup, service_commands
from taskflow.db.engine import libpq_url

SCHEMA = Path(__file__).with_name("schema.sql")
WORKER_PROCESSES = 4
NAME = "FastAPI + Celery + Redis"


class PeerNotInstalled(RuntimeError):
    """redis-server is missing."""


def create_schema(database_url: str) -> None:
    with psycopg.connect(libpq_url(database_url), autocommit=True) as connection:
        connection.execute(SCHEMA.read_text())


def peer_commands(api_port: int, redis_port: int, scratch: Path) -> dict[str, list[str]]:
    """redis, api and worker: the API's command is this project's, serving the peer's app instead."""
    server = shutil.which("redis-server")
    if server is None:
        raise PeerNotInstalled("the peer needs Debian's Redis: apt-get install redis-server")
    api = [part if part != "api.main:app" else "bench.peer.app:app" for part in service_commands(api_port)["api"]]
    return {
        # Loopback only, nothing written to disk: a broker for one benchmark.
        "redis": [server, "--bind", "127.0.0.1", "--port", str(redis_port), "--save", "", "--appendonly", "no",
                  "--dir", str(scratch)],  # fmt: skip
        "api": api,
        "worker": [sys.executable, "-m", "celery", "-A", "bench.peer.worker", "worker", "--pool", "prefork",
                   "--concurrency", str(WORKER_PROCESSES), "--loglevel", "WARNING", "--without-gossip",
                   "--without-mingle", "--without-heartbeat"],  # fmt: skip
    }


def peer_env(database_url: str, redis_port: int) -> dict[str, str]:
    return {"PEER_DATABASE_URL": database_url, "PEER_BROKER_URL": f"redis://127.0.0.1:{redis_port}/0"}


def start(group: ProcessGroup, commands: dict[str, list[str]], env: dict[str, str], *names: str) -> None:
    for name in names:
        group.start(name, commands[name], env)
