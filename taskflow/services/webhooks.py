"""Completion webhooks: each tenant's settings, the delivery a finishing task writes (in its own transaction, so a
finish is never without its webhook, nor a webhook without its finish), and the relay's claims and records of
attempts. Sending is the relay's (relay/webhooks.py)."""

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from taskflow.clock import utc_now
from taskflow.db.models import Task, WebhookDelivery, WebhookSettings
from taskflow.domain.errors import InvalidTaskRequest
from taskflow.domain.webhooks import (
    MAX_ALLOWED_HOSTS,
    InvalidCallbackUrl,
    check_allowed_host,
    check_callback_url,
    new_secret,
    retry_delay,
)

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
# The most deliveries a relay claims at once.
CLAIM_LIMIT = 10


def webhook_settings(session: Session, tenant_id: uuid.UUID) -> WebhookSettings | None:
    """The tenant's webhook settings; None until it configured them."""
    return session.get(WebhookSettings, tenant_id)


def configure_webhooks(session: Session, tenant_id: uuid.UUID, allowed_hosts: list[str]) -> WebhookSettings:
    """Set the hosts the tenant's callback URLs may name; the first time, a signing secret is made too."""
    hosts = sorted({check_allowed_host(host) for host in allowed_hosts})
    if len(hosts) > MAX_ALLOWED_HOSTS:
        raise InvalidTaskRequest(f"at most {MAX_ALLOWED_HOSTS} allowed hosts")
    settings = session.get(WebhookSettings, tenant_id, with_for_update=True)
    if settings is None:
        settings = WebhookSettings(tenant_id=tenant_id, secret=new_secret())
        session.add(settings)
    settings.allowed_hosts, settings.updated_at = hosts, utc_now()
    session.commit()
    return settings


def rotate_secret(session: Session, tenant_id: uuid.UUID) -> WebhookSettings | None:
    """A new signing secret for the tenant's deliveries from now on (attempts already under way included)."""
    settings = session.get(WebhookSettings, tenant_id, with_for_update=True)
    if settings is not None:
        settings.secret, settings.updated_at = new_secret(), utc_now()
        session.commit()
    return settings


def check_callback(session: Session, tenant_id: uuid.UUID, url: str, allow_http_loopback: bool) -> str:
    """`url` if the tenant may send its callbacks there (InvalidCallbackUrl otherwise)."""
    settings = webhook_settings(session, tenant_id)
    if settings is None:
        raise InvalidCallbackUrl("configure webhooks first (PUT /webhooks with the hosts you allow)")
    return check_callback_url(url, settings.allowed_hosts, allow_http_loopback)


def new_delivery(task: Task) -> WebhookDelivery:
    """The webhook announcing that `task` finished, to be written in the transaction that finishes it."""
    now = utc_now()
    data = {"id": str(task.id), "type": task.type, "status": task.status, "attempts": task.attempts,
            "result": task.result, "error": task.error, "finished_at": task.finished_at.isoformat()}  # fmt: skip
    body = json.dumps({"type": "task.finished", "timestamp": now.isoformat(), "data": data}, separators=(",", ":"))
    return WebhookDelivery(id=f"msg_{uuid.uuid4().hex}", tenant_id=task.tenant_id, task_id=task.id,
                           url=task.callback_url, body=body, status=PENDING, attempts=0, next_attempt_at=now,
                           created_at=now)  # fmt: skip


@dataclass(frozen=True)
class Claimed:
    """A delivery a relay holds for one attempt, with the secret to sign it."""

    id: str
    url: str
    body: str
    secret: str
    attempts: int  # before this one


def claim_due_deliveries(session: Session, lease: timedelta, limit: int = CLAIM_LIMIT) -> list[Claimed]:
    """Take the pending deliveries that are due, for `lease`: another relay skips them meanwhile, and if this one
    dies before recording the attempt, they are due again once the lease ends (same webhook-id)."""
    due = (
        select(WebhookDelivery, WebhookSettings.secret)
        .join(WebhookSettings, WebhookSettings.tenant_id == WebhookDelivery.tenant_id)
        .where(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= func.now())
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
        .with_for_update(of=WebhookDelivery, skip_locked=True)
    )
    claimed = []
    for delivery, secret in session.execute(due):
        delivery.next_attempt_at = func.now() + lease
        claimed.append(Claimed(delivery.id, delivery.url, delivery.body, secret, delivery.attempts))
    session.commit()
    return claimed


def record_attempt(session: Session, claimed: Claimed, error: str | None, *, most: int, first_delay: timedelta) -> str:
    """Record one attempt's outcome (`error` None: the receiver answered 2xx); return the delivery's new status."""
    attempts = claimed.attempts + 1
    if error is None:
        status, changes = DELIVERED, {"delivered_at": func.now(), "last_error": None}
    elif attempts >= most:
        status, changes = FAILED, {"last_error": error}
    else:
        later = func.now() + retry_delay(attempts, first_delay)
        status, changes = PENDING, {"last_error": error, "next_attempt_at": later}
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == claimed.id, WebhookDelivery.status == PENDING)
        .values(status=status, attempts=attempts, **changes)
    )
    session.commit()
    return status


def deliveries_of(session: Session, tenant_id: uuid.UUID, task_id: uuid.UUID) -> list[WebhookDelivery]:
    """The task's webhook deliveries, oldest first."""
    query = select(WebhookDelivery).where(WebhookDelivery.tenant_id == tenant_id, WebhookDelivery.task_id == task_id)
    return list(session.scalars(query.order_by(WebhookDelivery.created_at)))
