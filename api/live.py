"""The live feed behind the dashboard: one LISTEN connection per API process, fanned out to each tenant's open
streams (server-sent events). PostgreSQL notifies every task event (migration 0007).

Events are gathered per tenant and sent every BATCH_SECONDS as one message, encoded once and shared by all of
the tenant's viewers: which tasks changed (and to what), and by how much each status count moved. A viewer then
costs the API one socket write per batch, however busy its tenant is.
"""

import asyncio
import json
import logging
import uuid
from collections import Counter
from contextlib import aclosing

import psycopg

from taskflow.db.listen import listening_async
from taskflow.db.login import DatabaseLogin

CHANNEL = "task_events"
BATCH_SECONDS = 0.5
# A batch names at most this many changed tasks (the dashboard shows 25); the counts always cover every change.
MOST_CHANGED = 100
STREAM_BUFFER = 120  # batches (a minute) a viewer may fall behind before its stream is closed; it reconnects
log = logging.getLogger("api.live")


class TenantBatch:
    """The changes of one tenant's tasks since the last batch was sent."""

    def __init__(self) -> None:
        self.changed: dict[str, str] = {}
        self.counts: Counter = Counter()

    def add(self, event: dict) -> None:
        if len(self.changed) < MOST_CHANGED or event["task_id"] in self.changed:
            self.changed[event["task_id"]] = event["to_status"]
        self.counts[event["to_status"]] += 1
        if event["from_status"]:
            self.counts[event["from_status"]] -= 1

    def encode(self) -> bytes:
        data = json.dumps({"changed": self.changed, "counts": dict(self.counts)})
        return f"event: tasks\ndata: {data}\n\n".encode()


class TaskFeed:
    """Subscribers per tenant; `run` listens and sends batches until cancelled, reconnecting when needed."""

    def __init__(self, login: DatabaseLogin) -> None:
        self.login = login
        self.subscribers: dict[uuid.UUID, set[asyncio.Queue]] = {}
        self.pending: dict[uuid.UUID, TenantBatch] = {}

    def subscribe(self, tenant_id: uuid.UUID) -> asyncio.Queue:
        """A queue that receives the tenant's batches (bytes, ready to send) from now on; None means: stop."""
        queue: asyncio.Queue = asyncio.Queue(STREAM_BUFFER)
        self.subscribers.setdefault(tenant_id, set()).add(queue)
        return queue

    def unsubscribe(self, tenant_id: uuid.UUID, queue: asyncio.Queue) -> None:
        self.subscribers.get(tenant_id, set()).discard(queue)

    def receive(self, event: dict) -> None:
        """Add one notified event to its tenant's batch (tenants nobody watches are skipped)."""
        tenant_id = uuid.UUID(event.pop("tenant_id"))
        if self.subscribers.get(tenant_id):
            self.pending.setdefault(tenant_id, TenantBatch()).add(event)

    def send_batches(self) -> None:
        """Send each tenant's batch to its viewers; a viewer too far behind gets None and is dropped."""
        pending, self.pending = self.pending, {}
        for tenant_id, batch in pending.items():
            message = batch.encode()
            for queue in list(self.subscribers.get(tenant_id, ())):
                try:
                    queue.put_nowait(message)
                except asyncio.QueueFull:
                    self.unsubscribe(tenant_id, queue)
                    queue.get_nowait()
                    queue.put_nowait(None)

    async def run(self) -> None:
        """Listen and send batches until cancelled."""
        sender = asyncio.create_task(self._send_every_batch_period())
        try:
            await self._listen()
        finally:
            sender.cancel()

    async def _send_every_batch_period(self) -> None:
        while True:
            await asyncio.sleep(BATCH_SECONDS)
            self.send_batches()

    async def _listen(self) -> None:
        # aclosing: when the feed is cancelled, its connection is closed then, not whenever the generator is collected.
        async with aclosing(listening_async(self.login, CHANNEL)) as connections:
            async for connection in connections:
                try:
                    async for notification in connection.notifies():
                        if any(self.subscribers.values()):  # most of the time nobody watches: skip the parsing
                            self.receive(json.loads(notification.payload))
                except psycopg.OperationalError as error:
                    log.warning("lost the live feed's connection; reconnecting", extra={"error": str(error)})
