"""Messages a partner sent by mistake (not task messages) reach the consumer. Fixed, each is reported failed and
returned to the queue until it lands in the dead-letter queue; with the fault, the consumer acknowledges them and
SQS deletes them: the consumer's deleted messages climb with no task processed."""

MALFORMED = 3


def provoke(stack) -> str:
    deleted = stack.watch("consumer", "taskflow_consumer_messages_total", result="deleted")
    stack.send_to_queue(*(f'{{"partner": "sent by mistake", "n": {n}}}' for n in range(MALFORMED)))
    return deleted.rises_by(MALFORMED)
