"""The settings every process shares, read once from the environment (names match the AWS and compose setups).

Each process adds its own in a subclass beside its entry point: api.settings, relay.settings, esm.settings,
cli.settings. The consumer's are here, since its code is the shared package's (lambda/ holds only the handler).
"""

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict

from taskflow.domain.priority import high_priority_queue_name


class Settings(BaseSettings):
    """Shared configuration; override any field with the environment variable of the same name in upper case."""

    # An empty variable means "the default" (AWS_ENDPOINT_URL= is real AWS), as in .env.example.
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=True)

    database_url: str = "postgresql://postgres@127.0.0.1:5432/taskflow"
    # On AWS: the Secrets Manager secret holding this process's username and password for DATABASE_URL (read
    # again whenever the server refuses them: the secret was rotated).
    database_secret_arn: str | None = None
    # The role this process acts as (SET ROLE at connect), as the server's superuser: locally, each process runs
    # with the grants its own login has on AWS (taskflow_api, taskflow_relay, taskflow_consumer). Unset: none.
    database_role: str | None = None

    # AWS_ENDPOINT_URL is the variable boto3 and the AWS CLI read themselves: unset means real AWS.
    aws_endpoint_url: str | None = None
    aws_region: str = "us-east-1"
    # The task queue, and beside it the high-priority queue (taskflow.domain.priority). Each one's dead-letter queue
    # is whichever its redrive policy names (taskflow.sqs).
    queue_name: str = "taskflow-tasks"

    # The Lambda's timeout. A consumer's claim on a task lasts until its invocation's deadline plus the margin;
    # after that the consumer is presumed dead, and a redelivery or the relay's sweep takes the task over.
    function_timeout_seconds: int = 30
    claim_lease_margin_seconds: int = 10

    # Where the send_email task type delivers (make dev runs a sink that keeps nothing and counts every email).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    email_from: str = "taskflow@example.com"

    # Completion webhooks may go over plain http to this machine's loopback (make dev sets it, for a local
    # receiver); never on a deployment, where callbacks go over https to public addresses only.
    webhooks_allow_http_loopback: bool = False

    # The address the relay's and the mapping's metrics listen on: loopback, unless a container must be
    # reached from outside itself (compose sets 0.0.0.0, and publishes the port on the host's loopback only).
    metrics_host: str = "127.0.0.1"
    log_level: str = "INFO"

    @property
    def high_priority_queue_name(self) -> str:
        """The high-priority queue's name, derived from the task queue's."""
        return high_priority_queue_name(self.queue_name)


@lru_cache
def get_settings() -> Settings:
    """The shared settings, read once."""
    return Settings()
