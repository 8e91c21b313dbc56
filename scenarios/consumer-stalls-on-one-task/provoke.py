"""The tenant's ticketing export: a `word_stats` text of 400,000 characters that is nearly all punctuation (well
within the type's limit), among ordinary tasks. Fixed, it is counted in a few milliseconds; with the fault, the
count runs to the end of the invocation: the consumer's deadline interrupts it (the task goes back to wait for
another attempt: taskflow_tasks_processed_total of word_stats with outcome retrying), or, when the interruption
comes too late, the invocation is killed at its timeout and its whole batch goes back to the queue
(taskflow_consumer_invocations_total with result failed). Either shows on the consumer's /metrics."""

import time

from scenarios.provoking import SymptomNotSeen

EXPORT = "." * 399_999 + "x"
ORDINARY = 5


def provoke(stack) -> str:
    retried = stack.watch("consumer", "taskflow_tasks_processed_total", type="word_stats", outcome="retrying")
    killed = stack.watch("consumer", "taskflow_consumer_invocations_total", result="failed")
    started = time.monotonic()
    export = stack.create("word_stats", {"text": EXPORT})
    for number in range(ORDINARY):
        stack.create("word_stats", {"text": f"Ticket {number} closed. Thanks!"})
    try:
        moved = stack.wait_for(
            "the export's run interrupted or its invocation killed",
            lambda: (retried.now() > retried.before and retried) or (killed.now() > killed.before and killed),
        )
    except SymptomNotSeen:
        raise SymptomNotSeen(f"the export's task is {stack.task(export['id'])['status']}: counted in time") from None
    took = time.monotonic() - started
    return (f"{moved.name}{moved.labels} on the consumer's /metrics went from {moved.before:g} to {moved.now():g}:"
            f" the export ran until its invocation's time was up ({took:.0f} s after it was created)")  # fmt: skip
