"""An email provider that is down (the sink refuses mail for down.example with 451, "try again later"): every
attempt fails and is retried. Backing off, a task's five attempts are spread over half a minute or more; with the
fault they come back within two seconds each, a storm the sink's refusals show."""

import time

from scenarios.provoking import SymptomNotSeen

TASKS = 10
ATTEMPTS = 5  # send_email's retry policy: the default, five attempts
STORM_SECONDS = 15.0  # backing off, the attempts of ten tasks take about 30 s; the storm is over in under 10


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
