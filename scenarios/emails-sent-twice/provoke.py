"""Emails to a slow provider (the sink takes 2 s to accept mail for slow.example), each task's message delivered
a second time while the task runs, as SQS's at-least-once delivery does. Fixed, the copy is refused until the
task has finished and then dropped; with the fault, the task runs twice and its email goes out twice: the
dashboard's emails column shows 2, and the sink counts a repeated email."""

from taskflow.domain.messages import TaskMessage

TASKS = 3


def provoke(stack) -> str:
    repeated = stack.watch("mail", "taskflow_mail_sink_repeated_emails_total")
    for number in range(TASKS):
        task = stack.create("send_email", {"to": f"customer{number}@slow.example", "subject": "Your export is ready"})
        stack.wait_for("the task running", lambda task=task: stack.task(task["id"])["status"] == "running", every=0.1)
        copy = TaskMessage(task_id=task["id"], version=1, correlation_id=task["correlation_id"])
        stack.send_to_queue(copy.to_body())
    return repeated.rises_by(1)
