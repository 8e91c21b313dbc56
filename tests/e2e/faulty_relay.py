"""The outbox relay, dying (SIGKILL) right after a SendMessageBatch now and then, before it marks the rows published.

python -m tests.e2e.faulty_relay  (FAULT_KILL_PROBABILITY, default 0.05 per batch sent)
"""

import os
import random
import signal

from relay.__main__ import main
from relay.sqs_sender import SqsSender

KILL_PROBABILITY = float(os.environ.get("FAULT_KILL_PROBABILITY", "0.05"))
send_batch = SqsSender.send_batch


def send_then_maybe_die(self: SqsSender, messages):
    failures = send_batch(self, messages)
    if random.random() < KILL_PROBABILITY:
        os.kill(os.getpid(), signal.SIGKILL)
    return failures


SqsSender.send_batch = send_then_maybe_die

if __name__ == "__main__":
    main()
