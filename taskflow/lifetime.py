"""How our processes end: never after their parent, and within a few seconds of SIGTERM whatever they are doing.

A terminal that closes sends SIGHUP, compose and ECS send SIGTERM and then SIGKILL, and a parent killed with
SIGKILL tells its children nothing at all. So every process we start asks the kernel to signal it when its
parent dies (Linux's PR_SET_PDEATHSIG; elsewhere nothing is done), and every long-running process stops
cooperatively on SIGTERM, SIGINT or SIGHUP, but ends anyway STOP_SECONDS later: a call blocked on an unreachable
database or queue must not keep it alive. What a process drops that way is what a crash drops, which the
system is built to survive (the outbox, leases, redelivery).
"""

import ctypes
import logging
import os
import signal
import threading
from collections.abc import Callable

PR_SET_PDEATHSIG = 1
STOP_SECONDS = 4.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
log = logging.getLogger("taskflow.lifetime")

try:  # resolved once, here: a child between fork and exec should call nothing that loads libraries
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # not Linux
    _prctl = None


def die_with_parent(sig: int = signal.SIGTERM, parent_pid: int | None = None) -> None:
    """Have the kernel send `sig` to this process when its parent dies (Linux only; a no-op elsewhere).

    `parent_pid` closes the race in which the parent died before the call: then `sig` is sent at once.
    """
    if _prctl is None or _prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        return
    if parent_pid is not None and os.getppid() != parent_pid:
        os.kill(os.getpid(), sig)


def dies_with_this_process(sig: int = signal.SIGTERM) -> Callable[[], None]:
    """A `preexec_fn` for subprocess.Popen: the child gets `sig` when this process dies.

    The kernel ties the signal to the thread that starts the child: start long-lived children from the main
    thread (or another thread that lives as long as they should).
    """
    parent = os.getpid()
    return lambda: die_with_parent(sig, parent)


def stop_on_signals(stop: Callable[[], None], seconds: float = STOP_SECONDS) -> None:
    """On SIGTERM, SIGINT or SIGHUP, call `stop` (which asks the process to finish), and exit `seconds` later
    if it has not exited by then. Call from the main thread."""

    def on_signal(signum: int, frame: object) -> None:
        stop()
        deadline = threading.Timer(seconds, _exit_now, args=(signum, seconds))
        deadline.daemon = True
        deadline.start()

    for sig in STOP_SIGNALS:
        signal.signal(sig, on_signal)


def _exit_now(signum: int, seconds: float) -> None:
    log.warning("still busy %.0fs after %s; exiting now", seconds, signal.Signals(signum).name)
    logging.shutdown()
    os._exit(128 + signum)
