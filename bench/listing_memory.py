"""The worst page a client can ask for: tasks of 1 MB payloads, 200 to a page, payloads and results included.
Measures what the API process holds while it answers (its peak resident memory, which the kernel records)."""

from pathlib import Path

import httpx

PAYLOAD_CHARACTERS = 1_000_000  # about the largest a 1 MiB request body carries
TASKS = 200


def peak_resident_mb(pid: int) -> float:
    """The process's peak resident memory since it started or was last reset (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM: not Linux?")


def reset_peak(pid: int) -> None:
    """Start the peak over from the current resident memory (Linux, as root or the process's owner)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def worst_page(base_url: str, headers: dict, api_pid: int) -> dict:
    """Create TASKS tasks of a 1 MB payload, then ask for all of them in one page with their payloads."""
    label = "worst-page"
    body = {"type": "word_stats", "payload": {"text": "x" * PAYLOAD_CHARACTERS}, "labels": [label]}
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
        for _ in range(TASKS):
            client.post("/tasks", json=body).raise_for_status()
        reset_peak(api_pid)
        before = peak_resident_mb(api_pid)
        page = client.get("/tasks", params={"label": label, "limit": TASKS, "include": "payload,result"})
        page.raise_for_status()
        peak = peak_resident_mb(api_pid)
    return {
        "tasks": len(page.json()["items"]),
        "page_mb": len(page.content) / 1_000_000,
        "resident_mb": before,
        "peak_mb": peak,
    }
