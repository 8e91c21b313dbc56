"""A small tenant's three tasks are dead-lettered; then another tenant's incident, and a partner's bodies that
name no task, fill the dead-letter queue. The relay's sweep records every letter (its count climbs on the
relay's /metrics); the small tenant's GET /dead-letters should list its three letters, and with the fault lists
none of them, while the operator's `taskflow dead-letters list` shows them all."""

import uuid

from scenarios.provoking import SymptomNotSeen
from taskflow.domain.messages import TaskMessage

STACK_SETTINGS = {"RECOVERY_INTERVAL_SECONDS": "1"}  # the sweep records dead letters every second
QUIET, NOISY, NAMING_NO_TASK = 3, 20, 120  # more than a page (100) of letters newer than the small tenant's


def queued_tasks(stack, tenant_id: uuid.UUID, count: int) -> list[str]:
    """Queued tasks of the tenant, and the bodies of the messages that dispatched them."""
    tasks = stack.save_queued_tasks(tenant_id, count, "shipment manifest", attempts=5)
    return [TaskMessage(task_id=task.id, version=1, correlation_id="provoke").to_body() for task in tasks]


def dead_letter(stack, bodies: list[str]) -> str:
    """Put the bodies on the dead-letter queue, as SQS does after the last failed delivery; wait until recorded."""
    recorded = stack.watch("relay", "taskflow_dead_letters_recorded_total")
    sqs = stack.sqs
    url = sqs.get_queue_url(QueueName=f"{stack.env['QUEUE_NAME']}-dlq")["QueueUrl"]
    for start in range(0, len(bodies), 10):
        entries = [{"Id": str(n), "MessageBody": body} for n, body in enumerate(bodies[start : start + 10])]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
    return recorded.rises_by(len(bodies))


def provoke(stack) -> str:
    quiet, quiet_key = stack.new_tenant("fjord-freight")
    noisy, _ = stack.new_tenant("big-incident")
    mine = queued_tasks(stack, quiet, QUIET)
    dead_letter(stack, mine)
    theirs = queued_tasks(stack, noisy, NOISY) + [f"not a task message {n}" for n in range(NAMING_NO_TASK)]
    recorded = dead_letter(stack, theirs)
    listed = stack.api.get("/dead-letters", headers={"X-API-Key": quiet_key}).raise_for_status().json()["items"]
    wanted = {str(TaskMessage.from_body(body).task_id) for body in mine}
    shown = [letter for letter in listed if letter["task_id"] in wanted]
    if len(shown) == QUIET:
        raise SymptomNotSeen(f"the small tenant's GET /dead-letters lists all {QUIET} of its letters")
    return f"{recorded}; the small tenant's GET /dead-letters lists {len(shown)} of its {QUIET} dead letters"
