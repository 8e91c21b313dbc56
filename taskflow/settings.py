"""Every setting of every process, read once from the environment (names match the AWS and compose setups)."""

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """All configuration; override any field with the environment variable of the same name in upper case."""

    # An empty variable means "the default" (AWS_ENDPOINT_URL= is real AWS), as in .env.example.
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=True)

    max_request_body_bytes: int = 1_048_576

    database_url: str = "postgresql://postgres@127.0.0.1:5432/taskflow"
    # On AWS: the Secrets Manager secret (RDS's own) holding the username and password for DATABASE_URL.
    database_secret_arn: str | None = None
    database_pool_size: int = 20

    # AWS_ENDPOINT_URL is the variable boto3 and the AWS CLI read themselves: unset means real AWS.
    aws_endpoint_url: str | None = None
    aws_region: str = "us-east-1"
    queue_name: str = "taskflow-tasks"

    # The Lambda's timeout. A consumer's claim on a task lasts until its invocation's deadline plus the margin;
    # after that the consumer is presumed dead, and a redelivery or the relay's sweep takes the task over.
    function_timeout_seconds: int = 30
    claim_lease_margin_seconds: int = 10

    # The relay also sweeps for stuck tasks (see taskflow/services/recovery.py) this often.
    recovery_interval_seconds: float = 30.0
    # Queued this long while the queue is empty: the message was lost, so the task is published again.
    orphan_after_seconds: float = 120.0

    outbox_batch_size: int = 100
    outbox_idle_wait_seconds: float = 2.0
    # Where the relay answers Prometheus' scrapes; unset: it does not listen.
    relay_metrics_port: int | None = None

    # The local event source mapping, named after the AWS EventSourceMapping properties.
    esm_batch_size: int = 10
    esm_maximum_batching_window_in_seconds: float = 0
    esm_maximum_concurrency: int = 2  # ScalingConfig.MaximumConcurrency: AWS allows 2 to 1000
    esm_function_response_types: list[str] = ["ReportBatchItemFailures"]
    esm_function_handler: str = "handler.lambda_handler"
    # Lambda containers to invoke over HTTP (compose: the emulator of each `lambda` container), one execution
    # environment each, so at least MaximumConcurrency of them. Empty: environments are child processes here.
    esm_function_urls: list[str] = []
    # Where the mapping answers Prometheus' scrapes (its /metrics); unset: it does not listen.
    esm_metrics_port: int | None = None

    log_level: str = "INFO"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once (with the database credentials from Secrets Manager, if named)."""
    settings = Settings()
    if settings.database_secret_arn:
        from taskflow.secrets import database_url_from_secret  # boto3 only where it is needed

        url = database_url_from_secret(
            settings.database_url, settings.database_secret_arn, settings.aws_region, settings.aws_endpoint_url
        )
        settings = settings.model_copy(update={"database_url": url})
    return settings
