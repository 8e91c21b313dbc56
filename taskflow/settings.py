"""Every setting of every process, read once from the environment (names match the AWS and compose setups)."""

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """All configuration; override any field with the environment variable of the same name in upper case."""

    # An empty variable means "the default" (AWS_ENDPOINT_URL= is real AWS), as in .env.example.
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=True)

    max_request_body_bytes: int = 1_048_576
    # API keys, hits and misses, are cached this long (a revoked key keeps working at most this long, open
    # streams included), in a cache of at most this many keys.
    api_key_cache_seconds: float = 30.0
    api_key_cache_size: int = 10_000
    # Open dashboard streams (GET /stream) one key may hold in one API process; beyond: 429.
    max_streams_per_key: int = 10
    # A page of GET /tasks?include=payload,result stops before this many bytes of payloads and results.
    max_page_bytes: int = 4_194_304

    database_url: str = "postgresql://postgres@127.0.0.1:5432/taskflow"
    # On AWS: the Secrets Manager secret holding this process's username and password for DATABASE_URL (read
    # again whenever the server refuses them: the secret was rotated).
    database_secret_arn: str | None = None
    # The role this process acts as (SET ROLE at connect), as the server's superuser: locally, each process runs
    # with the grants its own login has on AWS (taskflow_api, taskflow_relay, taskflow_consumer). Unset: none.
    database_role: str | None = None
    # On AWS, for the migration task only: each process role's secret, whose password the role gets
    # (python -m taskflow.database_roles), e.g. {"taskflow_api": "arn:aws:secretsmanager:..."}.
    database_role_secret_arns: dict[str, str] = {}
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
    # The address the relay's and the mapping's metrics listen on: loopback, unless a container must be
    # reached from outside itself (compose sets 0.0.0.0, and publishes the port on the host's loopback only).
    metrics_host: str = "127.0.0.1"

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
    """The process-wide settings, read once."""
    return Settings()
