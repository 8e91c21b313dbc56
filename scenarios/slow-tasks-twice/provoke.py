"""A busy day for slow tasks: reports of 8 s each, more than the consumer's two environments can take at once.
The mapping receives the next batch while both environments work, so a batch can wait for one and then take as
long again: past the fault's 45 s visibility timeout, its messages are delivered again while their tasks run, and
the consumer refuses the copies ("running under another consumer's lease": taskflow_messages_refused_total with
reason TaskBusy on the consumer's /metrics). With the visibility timeout six times the function timeout, a
batch is long finished before its messages could come back."""

REPORTS = 24


def provoke(stack) -> str:
    busy = stack.watch("consumer", "taskflow_messages_refused_total", reason="TaskBusy")
    for number in range(REPORTS):
        stack.create("report", {"title": f"Monthly report {number}", "seconds": 8})
    return busy.rises_by(1)
