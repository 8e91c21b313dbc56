"""No process outlives the one that started it, and every long-running process ends within 5 s of SIGTERM.

`make dev` is ended every way a user ends it (Ctrl-C in its terminal, the terminal closed, SIGTERM, SIGHUP,
SIGKILL to it or to make): within 10 s nothing it started is left, and the next `make dev` starts at once on
the same ports. The test stacks' pieces (the embedded PostgreSQL, LocalStack, the process group) die with their
parent too. And the API, the relay, the event source mapping and an execution environment each exit within
5 s of SIGTERM: idle, busy, and with the database refusing connections or never answering.
"""

import os
import pty
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import boto3
import httpx
import psutil
import pytest

from devstack import ROOT
from devstack.processes import ProcessGroup, service_commands, wait_until_healthy
from taskflow.domain.messages import TaskMessage
from tests.conftest import REGION
from tests.e2e.conftest import running_stack
from tests.ports import free_devstack_port, free_port
from tests.waiting import wait_until

LEFT_WITHIN = 10  # seconds for everything `make dev` started to be gone
EXITS_WITHIN = 5  # seconds for one process to exit after SIGTERM


def family(pid: int) -> list[psutil.Process]:
    """The process and everything it started, now."""
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def assert_all_gone(processes: list[psutil.Process], within: float = LEFT_WITHIN) -> None:
    _, alive = psutil.wait_procs(processes, timeout=within)
    assert not alive, f"still running {within}s later: {[' '.join(p.cmdline()[:4]) for p in alive]}"


class Terminal:
    """A pseudo-terminal running an interactive shell, as a terminal window does, read continuously into a log
    (so that nothing in it ever blocks writing), until it is closed."""

    def __init__(self, env: dict, log: Path) -> None:
        self.log = log
        self.log.touch()
        self.shell, self.fd = pty.fork()
        if self.shell == 0:  # the child: the shell, with this pseudo-terminal as its controlling terminal
            for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM):
                signal.signal(sig, signal.SIG_DFL)  # as a terminal starts its shell, whatever the test runner ignores
            os.chdir(ROOT)
            os.execvpe("bash", ["bash", "--norc", "--noprofile", "-i"], env)
        self.closing = threading.Event()
        self.reader = threading.Thread(target=self._copy_output, daemon=True)
        self.reader.start()

    def _copy_output(self) -> None:
        with open(self.log, "ab", buffering=0) as copy, suppress(OSError):  # OSError: the session hung up
            while not self.closing.is_set():
                if select.select([self.fd], [], [], 0.1)[0]:
                    copy.write(os.read(self.fd, 65536))

    def type(self, line: str) -> None:
        os.write(self.fd, line.encode() + b"\n")

    @property
    def pid(self) -> int:
        """The command the shell runs in the foreground (the first child of the shell)."""
        return wait_until(lambda: psutil.Process(self.shell).children(), 10, "the command starting")[0].pid

    def press_ctrl_c(self) -> None:
        os.write(self.fd, b"\x03")  # the line discipline sends SIGINT to the foreground process group

    def close(self) -> None:
        """What closing a terminal window does: the session hangs up, the shell gets SIGHUP and sends it to its
        jobs."""
        if not self.closing.is_set():
            self.closing.set()
            self.reader.join()
            os.close(self.fd)


@contextmanager
def make_dev_in_a_terminal(env: dict, log: Path) -> Iterator[Terminal]:
    """`make dev` typed into a terminal of its own, as a user starts it, up and running."""
    terminal = Terminal(env, log)
    terminal.type("make --no-print-directory dev")
    try:
        wait_until(lambda: "Taskflow is up." in log.read_text(errors="replace"), 120, f"make dev up (see {log})")
        yield terminal
    finally:
        with suppress(psutil.NoSuchProcess):
            for process in family(terminal.shell)[1:]:  # a test that failed leaves nothing running either
                process.kill()
        terminal.close()
        with suppress(ChildProcessError):
            os.waitpid(terminal.shell, 0)


def devstack_pid(make_pid: int) -> int:
    return next(p.pid for p in psutil.Process(make_pid).children() if "devstack" in p.cmdline())


def signal_devstack(sig: int) -> Callable[[Terminal], None]:
    return lambda terminal: os.kill(devstack_pid(terminal.pid), sig)


ENDINGS = {
    "Ctrl-C in its terminal": Terminal.press_ctrl_c,
    "the terminal closed": Terminal.close,
    "SIGTERM to the dev stack": signal_devstack(signal.SIGTERM),
    "SIGHUP to the dev stack": signal_devstack(signal.SIGHUP),
    "SIGKILL to the dev stack": signal_devstack(signal.SIGKILL),
    "SIGKILL to make": lambda terminal: os.kill(terminal.pid, signal.SIGKILL),
}


def test_make_dev_leaves_nothing_behind_however_it_ends_and_starts_again_at_once(tmp_path, private_dir):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "AWS_ENDPOINT_URL", "MAKEFLAGS")}
    env |= {"TASKFLOW_DATA_DIR": str(private_dir / "data"), "API_PORT": str(free_devstack_port())}
    env |= {"LOCALSTACK_PORT": str(free_port())}
    for number, (ending, end) in enumerate([*ENDINGS.items(), ("Ctrl-C, once more", Terminal.press_ctrl_c)]):
        # Each start after the first is the proof that the previous ending freed the ports and the data.
        with make_dev_in_a_terminal(env, tmp_path / f"make-dev-{number}.log") as terminal:
            started = family(terminal.pid)
            assert len(started) >= 7, "make, the dev stack, PostgreSQL, LocalStack, API, relay and mapping"
            end(terminal)
            _, alive = psutil.wait_procs(started, timeout=LEFT_WITHIN)
            assert not alive, f"after {ending}, still running: {[' '.join(p.cmdline()[:4]) for p in alive]}"


def test_sigint_stops_make_dev_started_in_the_background_of_a_script(tmp_path, private_dir):
    # A script's background job starts with SIGINT ignored, and Python keeps an ignored SIGINT: unless the dev
    # stack handles SIGINT itself, `kill -INT` does nothing to it.
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "AWS_ENDPOINT_URL", "MAKEFLAGS")}
    env |= {"TASKFLOW_DATA_DIR": str(private_dir / "data"), "API_PORT": str(free_devstack_port())}
    env |= {"LOCALSTACK_PORT": str(free_port())}
    log = tmp_path / "make-dev.log"
    script = subprocess.Popen(
        ["bash", "-c", f"make --no-print-directory dev > {log} 2>&1 & wait"], cwd=ROOT, env=env, start_new_session=True
    )
    try:
        wait_until(lambda: log.exists() and "Taskflow is up." in log.read_text(errors="replace"), 120, "make dev up")
        started = family(script.pid)
        make = next(p for p in started if p.name() == "make")
        os.kill(devstack_pid(make.pid), signal.SIGINT)
        assert_all_gone(started)
    finally:
        with suppress(ProcessLookupError):
            os.killpg(script.pid, signal.SIGKILL)
        script.wait()


def test_the_test_stacks_pieces_die_with_the_process_that_started_them(private_dir):
    script = f"""
import sys, time
from pathlib import Path
sys.path.insert(0, {str(ROOT)!r})
from devstack.localstack import free_port, start_localstack
from devstack.postgres_process import EmbeddedPostgres
from devstack.processes import ProcessGroup
scratch = Path({str(private_dir)!r})
EmbeddedPostgres(scratch / "postgres").start()
start_localstack(free_port(), scratch / "localstack", open(scratch / "localstack.log", "wb"))
ProcessGroup().start("sleeper", [sys.executable, "-c", "import time; time.sleep(600)"], {{}})
print("ready", flush=True)
time.sleep(600)
"""
    runner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=private_dir)
    try:
        assert runner.stdout.readline().strip() == "ready"
        started = family(runner.pid)
        assert len(started) >= 4, "the runner, PostgreSQL, LocalStack and the sleeper"
        runner.kill()  # as when pytest or the bench is killed
        assert_all_gone(started)
    finally:
        runner.kill()
        runner.wait()


def seconds_to_exit_after_sigterm(process: subprocess.Popen | psutil.Process) -> float:
    started = time.monotonic()
    process.terminate()
    try:
        process.wait(EXITS_WITHIN + 5)
    except (subprocess.TimeoutExpired, psutil.TimeoutExpired):
        process.kill()
    return time.monotonic() - started


@pytest.fixture
def unreachable_databases() -> Iterator[dict[str, tuple[str, socket.socket | None]]]:
    """A database that refuses connections, and one that accepts them and never answers."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(100)  # the kernel completes the connections; nobody ever answers them
        port = silent.getsockname()[1]
        yield {
            "refused": (f"postgresql://postgres@127.0.0.1:{free_port()}/taskflow", None),
            "silent": (f"postgresql://postgres@127.0.0.1:{port}/taskflow", silent),
        }


def connected_to(pid: int, port: int) -> bool:
    processes = family(pid)
    return any(c.raddr and c.raddr.port == port for p in processes for c in p.net_connections())


@pytest.mark.parametrize("database", ["refused", "silent"])
@pytest.mark.parametrize("name", ["api", "relay", "esm"])
def test_a_process_whose_database_is_unreachable_exits_within_5s_of_sigterm(
    name, database, unreachable_databases, sqs_endpoint, queue, tmp_path
):
    url, silent = unreachable_databases[database]
    env = {"DATABASE_URL": url, "AWS_ENDPOINT_URL": sqs_endpoint, "QUEUE_NAME": queue.name}
    log = tmp_path / "out.log"
    with open(log, "w") as output:
        group = ProcessGroup(output=output)
        command = service_commands(free_port())[name]
        process = group.start(name, command, env)
        if name == "api":
            wait_until_healthy(f"http://127.0.0.1:{command[command.index('--port') + 1]}/health")
        if name == "esm":  # the mapping itself never connects: a message makes its environment try to claim
            message = TaskMessage(task_id="00000000-0000-0000-0000-000000000001", version=1, correlation_id="x")
            boto3.client("sqs", endpoint_url=sqs_endpoint, region_name=REGION).send_message(
                QueueUrl=queue.url, MessageBody=message.to_body()
            )
        if silent:  # the process is stuck in a connect that nobody answers
            wait_until(lambda: connected_to(process.pid, silent.getsockname()[1]), 30, "a hanging connect")
        else:  # the process is backing off between refused connects
            wait_until(lambda: "refused" in log.read_text(), 30, "a refused connection")
        seconds = seconds_to_exit_after_sigterm(process)
        group.processes.clear()
    assert seconds < EXITS_WITHIN, log.read_text()[-3000:]


def environments(mapping_pid: int) -> list[psutil.Process]:
    """The mapping's execution environments: its multiprocessing children, but for multiprocessing's own resource
    tracker (which ignores SIGTERM by design, and exits when the mapping does)."""
    children = {p: " ".join(p.cmdline()) for p in psutil.Process(mapping_pid).children()}
    return [p for p, line in children.items() if "multiprocessing" in line and "resource_tracker" not in line]


def test_each_process_of_a_busy_stack_exits_within_5s_of_sigterm(
    postgres_server_url, sqs_endpoint, tree_with_test_types, tmp_path
):
    env = {"FUNCTION_TIMEOUT_SECONDS": "60"}
    with (
        running_stack(postgres_server_url, sqs_endpoint, tmp_path / "stack.log", env, tree_with_test_types) as stack,
        httpx.Client(base_url=stack.base_url, headers=stack.headers) as client,
    ):

        def a_long_task_running() -> None:
            task = client.post("/tasks", json={"type": "test_sleep", "payload": {"seconds": 50}}).json()
            wait_until(lambda: client.get(f"/tasks/{task['id']}").json()["status"] == "running", 20, "a running task")

        a_long_task_running()
        busy = environments(stack.group.processes["esm"].pid)
        environment_seconds = [seconds_to_exit_after_sigterm(environment) for environment in busy]
        a_long_task_running()
        with client.stream("GET", "/stream") as streaming:  # an open dashboard
            assert streaming.status_code == 200
            seconds = {name: seconds_to_exit_after_sigterm(stack.group.processes.pop(name)) for name in stack.commands}
    assert busy and all(s < EXITS_WITHIN for s in environment_seconds), environment_seconds
    assert all(s < EXITS_WITHIN for s in seconds.values()), seconds
