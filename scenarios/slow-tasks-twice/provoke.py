"""A busy day for reports, on a stack that runs its consumer as this team does, with a 45 s function timeout and
a 10 s batching window (STACK_SETTINGS, as the briefing says; AWS refuses a mapping whose queue hides messages for
less than the timeout). The window fills each batch with ten reports however fast the API takes them (without it,
a slow machine hands out batches of one or two, which never run long), so an invocation builds reports for its
whole 45 s while the mapping's next batch waits for a free environment. Past the fault's 45 s visibility
timeout, that batch's messages are delivered again while their tasks run, and the consumer refuses the copies
(taskflow_messages_refused_total with reason TaskBusy on the consumer's /metrics). With the visibility timeout
six times the function timeout, a batch is long finished before its messages could come back."""

STACK_SETTINGS = {"FUNCTION_TIMEOUT_SECONDS": "45", "ESM_MAXIMUM_BATCHING_WINDOW_IN_SECONDS": "10"}
REPORTS = 30  # three batches: two run at once, the third waits its turn while its visibility timeout runs out
# Ten of them fit an invocation (a record starts only with 9 s left), so none is left over to hold up the
# environment the copies need.
SECONDS = 3.5


def provoke(stack) -> str:
    busy = stack.watch("consumer", "taskflow_messages_refused_total", reason="TaskBusy")
    for number in range(REPORTS):
        stack.create("report", {"title": f"Monthly report {number}", "seconds": SECONDS})
    return busy.rises_by(1)
