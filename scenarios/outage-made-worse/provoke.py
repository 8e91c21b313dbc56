"""An email provider that is down (the sink refuses mail for down.example with 451, "try again later"): every
attempt fails and is retried. Backing off, later retries wait longer (up to 4, 8, 16 s); with the fault every
retry comes back within two seconds, the storm the consumer's backoff histogram and the sink's refusals show."""

from scenarios.provoking import SymptomNotSeen
from taskflow.task_types import get_task_type

TASKS = 10
QUICK = "2.0"  # the histogram bucket of backoffs up to 2 s
STORM = 0.9  # backing off, about half of the retries come back that fast; in the storm, all of them


def provoke(stack) -> str:
    retries = TASKS * (get_task_type("send_email").retry.max_attempts - 1)
    backoffs = stack.watch("consumer", "taskflow_retry_delay_seconds_count", type="send_email")
    quick = stack.watch("consumer", "taskflow_retry_delay_seconds_bucket", type="send_email", le=QUICK)
    refused = stack.watch("mail", "taskflow_mail_sink_refused_emails_total")
    for number in range(TASKS):
        stack.create("send_email", {"to": f"customer{number}@down.example", "subject": "Your invoice"})
    backoffs.rises_by(retries)
    share = (quick.now() - quick.before) / (backoffs.now() - backoffs.before)
    if share < STORM:
        raise SymptomNotSeen(f"retries back off: {share:.0%} of them came back within {QUICK} s")
    return (f"{share:.0%} of {retries} retries came back within 2 s (taskflow_retry_delay_seconds on the consumer's"
            f" /metrics); the sink refused {refused.now() - refused.before:g} calls")  # fmt: skip
