"""The outbox relay process: it publishes the outbox to SQS as soon as rows are committed (outbox_relay), and
sweeps for what got stuck: dead letters, tasks whose consumer died, messages the queue lost (sweep), and fires
the recurring schedules that are due (scheduler).

    python -m relay
"""
