"""`make profile`: where each process spends its time under load, sampled by py-spy; the findings are kept in
bench/README.md.

On a fresh database and queue of its own: the API is sampled while 32 clients create TASKS tasks with nothing
consuming; then the relay and the mapping (with its Lambda environments) are started and sampled while they work
through that backlog. Each process's samples are printed by package (time waiting on the network or a lock
apart) with its costliest functions; py-spy's raw stacks are written to PROFILE_DIR for a flame graph.
"""

import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.load import closed_loop
from bench.ours import our_stack, use_local_credentials
from bench.phases import CLIENTS, task_body
from devstack.localstack import sqs_endpoint as find_or_start_sqs
from devstack.postgres import migrated_database, server_for_tests

TASKS, SECONDS, RATE = 8_000, 15, 100  # tasks in the backlog, seconds sampled, samples per second
PY_SPY = str(Path(sys.executable).with_name("py-spy"))
# Leaf frames where a thread waits (on a socket, a lock, a pipe) rather than computes.
WAITING = re.compile(r"\bwait\b|readinto|select|_recv|_send_query_prepared|_exec_command|acquire|Condition")


OURS = re.compile(r"\((taskflow|esm|relay|api|handler)[/.]")


def sample(pid: int, path: Path, seconds: int, children: bool = False) -> subprocess.Popen:
    """py-spy recording `pid` (and its children) for `seconds`, raw stacks to `path`."""
    command = [PY_SPY, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", str(RATE),
               "--format", "raw", "--output", str(path), "--nonblocking"]  # fmt: skip
    return subprocess.Popen(command + (["--subprocesses"] if children else []), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip


def summary(path: Path, top: int = 8) -> str:
    """Samples by package (waiting apart), and the functions that appear in the most computing samples."""
    packages, functions, total = Counter(), Counter(), 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames, count = stack.split(";"), int(count)
        total += count
        if WAITING.search(frames[-1]):
            packages["(waiting)"] += count
            continue
        package = re.search(r"\(([^)/]+)[/.]", frames[-1])
        packages[package.group(1) if package else "other"] += count
        ours = [f for f in frames if OURS.search(f)]
        if ours:
            functions[re.sub(r":\d+\)$", ")", ours[-1])] += count
    shares = ", ".join(f"{name} {n / total:.0%}" for name, n in packages.most_common(8))
    costly = "\n".join(f"      {n / total:4.0%}  {frame}" for frame, n in functions.most_common(top))
    return f"    {total} samples: {shares}\n    computing, by the innermost function of ours on the stack:\n{costly}"


def main() -> None:
    use_local_credentials()
    out = Path(os.environ.get("PROFILE_DIR", tempfile.mkdtemp(prefix="taskflow-profile-")))
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="taskflow-profile-") as scratch_dir:
        scratch = Path(scratch_dir)
        with (
            server_for_tests(scratch) as server,
            find_or_start_sqs(scratch) as endpoint,
            migrated_database(server, "taskflow_profile") as database_url,
        ):
            profile(database_url, endpoint, out)
    for name in ("api", "relay", "esm"):
        print(f"\n  {name} (raw stacks: {out / name}.txt)\n{summary(out / f'{name}.txt')}")


def profile(database_url: str, endpoint: str, out: Path) -> None:
    """Sample the API while it takes the backlog, then the relay and the mapping while they work through it."""
    with our_stack(database_url, endpoint, "profile", out / "stack.log") as stack:
        api = sample(stack.group.processes["api"].pid, out / "api.txt", SECONDS)
        created = asyncio.run(closed_loop("POST", f"{stack.base}/tasks", clients=CLIENTS, total=TASKS,
                                          body=task_body, headers=stack.headers))  # fmt: skip
        api.wait()
        print(f"  created {TASKS} tasks at {created.rate:.0f}/s with nothing consuming")
        stack.start("relay", "esm")
        time.sleep(3)  # the environments' cold start is not what is sampled
        spies = [sample(stack.group.processes[name].pid, out / f"{name}.txt", SECONDS, children=name == "esm")
                 for name in ("relay", "esm")]  # fmt: skip
        for spy in spies:
            spy.wait()

if __name__ == "__main__":
    main()
