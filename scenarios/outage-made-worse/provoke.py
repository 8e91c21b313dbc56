"""An email provider that is down (the sink refuses mail for down.example with 451, "try again later"): every
attempt fails and is retried. Backing off, a task's eight attempts are spread over two minutes or more; with the
fault each comes back within two seconds, a storm the sink's refusals show."""

import time

from scenarios.provoking import SymptomNotSeen
from taskflow.task_types import get_task_type

TASKS = 10
ATTEMPTS = get_task_type("send_email").retry.max_attempts
STORM_SECONDS = 45.0  # backing off, the attempts take two minutes on average; in the storm, about 25 s


def provoke(stack) -> str:
    refused = stack.watch("mail", "taskflow_mail_sink_refused_emails_total")
    started = time.monotonic()
    for number in range(TASKS):
        stack.create("send_email", {"to": f"customer{number}@down.example", "subject": "Your invoice"})
    shown = refused.rises_by(TASKS * ATTEMPTS)
    took = time.monotonic() - started
    if took > STORM_SECONDS:
        raise SymptomNotSeen(f"no storm: {TASKS * ATTEMPTS} calls to the failing provider took {took:.0f} s")
    return f"{shown}: {TASKS * ATTEMPTS} calls to the failing provider in {took:.0f} s"
