"""A busy day for reports, on a stack that runs its consumer as this team does, with a 45 s function timeout
(STACK_SETTINGS, as the briefing says; AWS refuses a mapping whose queue hides messages for less than that).
Reports arrive faster than they are built, so an invocation builds them for most of its 45 s while the mapping's
next batch waits for a free environment. Past the fault's 45 s visibility timeout, a batch's messages are
delivered again while their tasks run, and the consumer refuses the copies (taskflow_messages_refused_total with
reason TaskBusy on the consumer's /metrics). With the visibility timeout six times the function timeout, a batch
is long finished before its messages could come back."""

STACK_SETTINGS = {"FUNCTION_TIMEOUT_SECONDS": "45"}
REPORTS = 30
SECONDS = (8, 2, 5)  # reports of different sizes, so the two environments do not finish in step


def provoke(stack) -> str:
    busy = stack.watch("consumer", "taskflow_messages_refused_total", reason="TaskBusy")
    for number in range(REPORTS):
        stack.create("report", {"title": f"Monthly report {number}", "seconds": SECONDS[number % len(SECONDS)]})
    return busy.rises_by(1)
