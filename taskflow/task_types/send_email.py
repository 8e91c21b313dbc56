"""Task type `send_email`: one email through the SMTP server of SMTP_HOST and SMTP_PORT.

An email cannot be unsent, so this is the task type where running twice shows: the Message-ID is the task's id,
the idempotency key a real provider uses to drop a repeat (make dev's sink counts repeats instead)."""

import smtplib
from email.message import EmailMessage

from pydantic import BaseModel, Field

from taskflow.settings import get_settings
from taskflow.task_types import TaskContext, task_type

TASK_ID_HEADER = "X-Taskflow-Task-Id"


class EmailPayload(BaseModel):
    """An email to one recipient."""

    to: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254, examples=["ada@example.com"])
    subject: str = Field(min_length=1, max_length=200, examples=["Your export is ready"])
    body: str = Field(default="", max_length=100_000)


def build_email(payload: EmailPayload, context: TaskContext, sender: str) -> EmailMessage:
    """The email of one task, identified by the task's id whatever the attempt."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, payload.to, payload.subject
    message["Message-ID"] = f"<{context.task_id}@taskflow>"
    message[TASK_ID_HEADER] = str(context.task_id)
    message.set_content(payload.body)
    return message


# A refused connection, a timeout or a 4xx answer ("try again later") is worth another try: smtplib raises
# OSError subclasses for the first two, SMTPException subclasses for the last. A 5xx answer is final.
@task_type("send_email", EmailPayload, transient=(smtplib.SMTPException, OSError), time_budget_seconds=10.0)
def send_email(payload: EmailPayload, context: TaskContext) -> dict:
    """Send one email through the configured SMTP server."""
    settings = get_settings()
    message = build_email(payload, context, settings.email_from)
    timeout = max(1.0, context.seconds_left())
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout) as server:
            server.send_message(message)
    except smtplib.SMTPResponseException as refused:
        if refused.smtp_code >= 500:
            raise ValueError(f"the SMTP server refused the email for good: {refused.smtp_code}") from refused
        raise
    return {"sent_to": payload.to, "message_id": message["Message-ID"]}
