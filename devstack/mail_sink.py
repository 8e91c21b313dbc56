"""The development stack's email provider: an SMTP server (aiosmtpd) that delivers nowhere and counts every
email by the task that sent it, so a task whose email went out twice can be seen.

python -m devstack.mail_sink SMTP_PORT HTTP_PORT
  SMTP on 127.0.0.1:SMTP_PORT; on 127.0.0.1:HTTP_PORT, GET /deliveries (JSON: emails per task id, for the
  dashboard) and GET /metrics (Prometheus). Mail to a recipient at slow.example takes SLOW_SECONDS to accept,
  as a slow provider would; mail to down.example is refused for now (451), as by a provider that is down.
"""

import asyncio
import email
import json
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client import Counter as Metric

from taskflow.task_types.send_email import TASK_ID_HEADER

SLOW_DOMAIN = "slow.example"
SLOW_SECONDS = 2.0
DOWN_DOMAIN = "down.example"


class Deliveries:
    """Emails received, per task id; thread-safe (SMTP and HTTP are served on different threads)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_task: Counter[str] = Counter()
        self.registry = CollectorRegistry()
        self.received = Metric("taskflow_mail_sink_emails", "Emails received", registry=self.registry)
        self.repeated = Metric(
            "taskflow_mail_sink_repeated_emails", "Emails for a task that had already sent one", registry=self.registry
        )
        self.refused = Metric(
            "taskflow_mail_sink_refused_emails", "Emails refused for now (451: to down.example)", registry=self.registry
        )

    def record(self, task_id: str) -> None:
        with self.lock:
            self.by_task[task_id] += 1
            self.received.inc()
            if self.by_task[task_id] > 1:
                self.repeated.inc()

    def snapshot(self) -> dict[str, int]:
        with self.lock:
            return dict(self.by_task)


class SmtpHandler:
    """aiosmtpd's handler: accept every email, count it."""

    def __init__(self, deliveries: Deliveries) -> None:
        self.deliveries = deliveries

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        if any(recipient.lower().endswith("@" + DOWN_DOMAIN) for recipient in envelope.rcpt_tos):
            self.deliveries.refused.inc()
            return "451 4.3.0 Service unavailable, try again later"
        if any(recipient.lower().endswith("@" + SLOW_DOMAIN) for recipient in envelope.rcpt_tos):
            await asyncio.sleep(SLOW_SECONDS)
        message = email.message_from_bytes(envelope.content)
        self.deliveries.record(message.get(TASK_ID_HEADER, "none"))
        return "250 Message accepted for delivery"


def http_handler(deliveries: Deliveries) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's hook name)
            if self.path == "/deliveries":
                body, kind = json.dumps(deliveries.snapshot()).encode(), "application/json"
            elif self.path == "/metrics":
                body, kind = generate_latest(deliveries.registry), "text/plain; version=0.0.4"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            # The dashboard, served by the API on another port, reads the counts; they hold no secret.
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass  # quiet: the dashboard polls

    return Handler


def main(smtp_port: int, http_port: int) -> None:
    deliveries = Deliveries()
    smtp = Controller(SmtpHandler(deliveries), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    try:
        ThreadingHTTPServer(("127.0.0.1", http_port), http_handler(deliveries)).serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        smtp.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
