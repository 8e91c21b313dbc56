"""CPU time spent by each part of the system over a phase, read from the operating system."""

import psutil

PARTS = {
    "api": "uvicorn",
    "relay": "-m relay",
    "consumer": "-m esm",
    "localstack": "localstack.runtime.main",
    "postgres": "postgres",
    # The peer's (bench/peer): its API is a uvicorn too.
    "celery": "celery",
    "redis": "redis-server",
}


def _part_of(process: psutil.Process | None) -> str | None:
    if process is None:
        return None
    try:
        command = " ".join(process.cmdline()) or process.name()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    if "multiprocessing" in command:  # uvicorn's workers, the mapping's Lambda environments: their parent's part
        return _part_of(process.parent())
    return next((part for part, marker in PARTS.items() if marker in command), None)


def cpu_seconds_by_part() -> dict[str, float]:
    """User + system CPU seconds used so far by every process of each part."""
    totals = dict.fromkeys(PARTS, 0.0)
    for process in psutil.process_iter():
        part = _part_of(process)
        if part:
            try:
                times = process.cpu_times()
                totals[part] += times.user + times.system
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
    return totals


def spent_since(before: dict[str, float]) -> dict[str, float]:
    """CPU seconds each part used since `before`."""
    now = cpu_seconds_by_part()
    return {part: now[part] - before.get(part, 0.0) for part in now}
