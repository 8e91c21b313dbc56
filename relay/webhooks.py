"""The relay's fourth job, on a thread of its own: send the completion webhooks that are due
(taskflow.services.webhooks), signed as Standard Webhooks prescribes, and record each attempt.

Each delivery goes to the addresses its host resolves to at that moment, and only if every one of them is public
(loopback too where WEBHOOKS_ALLOW_HTTP_LOOPBACK permits it); the connection is made to the address that was
checked, with the host name kept for TLS and the Host header, so a name that resolves differently a moment later
cannot lead it elsewhere. Redirects are not followed: a receiver cannot send it on into the network either.

A receiver is a stranger: only its status line is read (never its body, which could be any size), each attempt has
a deadline for the whole exchange (a receiver that trickles its answer byte by byte has its connection closed),
and the attempts of one claim run side by side, so one slow receiver delays the others by one deadline at most.
"""

import ipaddress
import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy.orm import Session, sessionmaker

from relay import metrics
from relay.outbox_relay import TRANSIENT
from taskflow.domain.webhooks import address_allowed, signature
from taskflow.services.webhooks import Claimed, claim_due_deliveries, record_attempt

log = logging.getLogger("relay.webhooks")
LOOK_EVERY_SECONDS = 0.5
# A delivery's claim: longer than an attempt can take, so that only a dead relay's claims run out.
CLAIM_LEASE = timedelta(seconds=60)
MAX_ERROR_CHARACTERS = 500


class AddressRefused(Exception):
    """The callback's host resolves to an address no webhook may reach."""


class WebhookSender:
    """Sends due webhooks until `stopping` is set."""

    def __init__(self, sessions: sessionmaker[Session], stopping: threading.Event, *, allow_loopback: bool,
                 timeout_seconds: float, max_attempts: int, first_retry: timedelta) -> None:  # fmt: skip
        self.sessions = sessions
        self.stopping = stopping
        self.allow_loopback = allow_loopback
        self.max_attempts = max_attempts
        self.first_retry = first_retry
        self.deadline_seconds = timeout_seconds
        # A fresh connection per attempt (no keep-alive): the deadline closes the one its attempt opened.
        self.client = httpx.Client(timeout=timeout_seconds, follow_redirects=False, trust_env=False,
                                   limits=httpx.Limits(max_keepalive_connections=0))  # fmt: skip

    def run(self) -> None:
        """Send what is due, then look again shortly, until stopped."""
        log.info("webhook sender started")
        while not self.stopping.is_set():
            sent = self.send_due()
            self.stopping.wait(0 if sent else LOOK_EVERY_SECONDS)
        self.client.close()
        log.info("webhook sender stopped")

    def send_due(self) -> int:
        """Attempt each due delivery once; return how many. Never raises: a failure is logged, and tried again."""
        try:
            with self.sessions() as session:
                claimed = claim_due_deliveries(session, CLAIM_LEASE)
            with ThreadPoolExecutor(max(1, len(claimed)), "webhook") as attempts:
                errors = list(attempts.map(self.attempt, claimed))
            for delivery, error in zip(claimed, errors, strict=True):
                with self.sessions() as session:
                    status = record_attempt(session, delivery, error, most=self.max_attempts,
                                            first_delay=self.first_retry)  # fmt: skip
                metrics.webhooks.labels(status if error is None or status == "failed" else "retrying").inc()
                if error is not None:
                    log.warning("webhook attempt failed", extra={"webhook_id": delivery.id, "error": error,
                                                                 "status": status})  # fmt: skip
            return len(claimed)
        except TRANSIENT as error:
            log.warning("sending webhooks failed; trying again soon", extra={"error": str(error)})
        except Exception:  # a bug must not end the relay's webhooks for good; it is logged, and tried again
            log.exception("sending webhooks failed")
        return 0

    def attempt(self, delivery: Claimed) -> str | None:
        """POST the delivery once; None if the receiver answered 2xx, else what went wrong. Never raises."""
        try:
            return self._attempt(delivery)
        except Exception as error:  # whatever a URL or a receiver does, the delivery gets its attempt recorded
            log.exception("webhook attempt failed unexpectedly", extra={"webhook_id": delivery.id})
            return f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARACTERS]

    def _attempt(self, delivery: Claimed) -> str | None:
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": delivery.id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(delivery.secret, delivery.id, timestamp, delivery.body),
        }
        try:
            status = self.post_pinned(delivery.url, delivery.body, headers)
        except AddressRefused as error:
            return str(error)
        except httpx.HTTPError as error:
            return f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARACTERS]
        if status is None:
            return f"no answer within {self.deadline_seconds:g} s"
        if 200 <= status < 300:
            return None
        return f"the receiver answered {status}"

    def post_pinned(self, url: str, body: str, headers: dict) -> int | None:
        """POST to the one address of `url`'s host that was checked (AddressRefused if any is not allowed); the
        status the receiver answered, or None if it did not answer within the deadline."""
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError, ValueError) as error:  # gaierror; a name IDNA cannot encode
            raise AddressRefused(f"{parts.hostname} does not resolve: {error}") from None
        addresses = sorted({ipaddress.ip_address(info[4][0]) for info in found}, key=str)
        refused = [a for a in addresses if not address_allowed(a, self.allow_loopback)]
        if refused:
            raise AddressRefused(f"{parts.hostname} resolves to {refused[0]}, which webhooks may not reach")
        address = addresses[0]
        host = f"[{address}]" if address.version == 6 else str(address)
        pinned = urlunsplit(parts._replace(netloc=f"{host}:{port}"))
        headers = {**headers, "host": parts.netloc.rpartition("@")[2]}
        return self._post_within_deadline(pinned, body, headers, parts.hostname)

    def _post_within_deadline(self, url: str, body: str, headers: dict, hostname: str) -> int | None:
        opened, timed_out = [], threading.Event()

        def trace(event: str, info: dict) -> None:
            if event == "connection.connect_tcp.complete":
                opened.append(info["return_value"])

        def cut() -> None:
            timed_out.set()
            for stream in opened:
                stream.close()

        timer = threading.Timer(self.deadline_seconds, cut)
        timer.start()
        try:
            extensions = {"sni_hostname": hostname, "trace": trace}
            with self.client.stream("POST", url, content=body.encode(), headers=headers, extensions=extensions) as r:
                return r.status_code  # the body is never read
        except httpx.HTTPError:
            if timed_out.is_set():
                return None
            raise
        finally:
            timer.cancel()
