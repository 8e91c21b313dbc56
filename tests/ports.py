"""Ports for the servers tests start.

Asking the kernel for a free port (bind to 0, close) races: the port is free again the moment the probe closes, so
a test on the other pytest-xdist worker was handed the same one while the first test's stack was still starting,
and one of the two failed with "address already in use". Here each worker takes ports from a band of its own,
below the kernel's ephemeral range (which it never hands out for port 0 or outgoing connections), and a process
never hands out a port twice, nor the neighbours `make dev` derives from its API port.
"""

import itertools
import os
import random

from devstack.__main__ import port_is_free

FIRST_PORT, BAND_SIZE = 10_000, 3_000
BANDS = (32_768 - FIRST_PORT) // BAND_SIZE  # below Linux's default ephemeral range, 32768-60999
DEVSTACK_NEIGHBOURS = (100, 101, 102, 103)  # metrics, SMTP and mail sink ports make dev puts beside its API port

_handed_out: set[int] = set()


def _band_start() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    return FIRST_PORT + (int(worker) if worker.isdigit() else 0) % BANDS * BAND_SIZE


# Ports Chromium refuses to load a page from (ERR_UNSAFE_PORT; its list above 1024): a browser test's stack
# given 10080 failed.
BROWSERS_REFUSE = {1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, *range(6665, 6670), 6679, 6697,
                   10080}  # fmt: skip
# A random starting point, so a test's subprocess that takes ports too starts elsewhere in the band.
_offsets = itertools.count(random.randrange(BAND_SIZE))


def free_port(neighbours: tuple[int, ...] = ()) -> int:
    """A port nobody listens on, from this worker's band, not handed out before; so are port + each of `neighbours`."""
    start = _band_start()
    for _ in range(BAND_SIZE):
        port = start + next(_offsets) % (BAND_SIZE - max(neighbours, default=0))
        wanted = [port, *(port + offset for offset in neighbours)]
        usable = not BROWSERS_REFUSE.intersection(wanted) and not _handed_out.intersection(wanted)
        if usable and all(map(port_is_free, wanted)):
            _handed_out.update(wanted)
            return port
    raise RuntimeError(f"no free port left in {start}-{start + BAND_SIZE}")


def free_devstack_port() -> int:
    """An API port for `make dev`, whose neighbours it also takes (+100 to +103) are free too."""
    return free_port(DEVSTACK_NEIGHBOURS)
