"""`make dev`: bring up the whole system on this machine and keep it up until Ctrl-C.

python -m devstack        (API_PORT, LOCALSTACK_PORT, DATABASE_URL and AWS_ENDPOINT_URL are honoured)
"""

import logging
import os
import signal
import socket
import subprocess
import sys
import time

from devstack import DATA_DIR, ROOT
from devstack.dev_key import dev_api_key
from devstack.localstack import start_localstack
from devstack.postgres import create_database, migrate
from devstack.postgres_process import EmbeddedPostgres
from devstack.processes import ProcessGroup, mail_sink_command, service_commands, wait_until_healthy
from devstack.queues import provision_queues
from taskflow.lifetime import die_with_parent

# Whatever ends the stack, everything it started is gone this long after: what has not exited is killed.
STOP_SECONDS = 7
# Where the stack keeps its data, as the messages show it: .data, or TASKFLOW_DATA_DIR when that is elsewhere.
SHOWN_DATA = ".data" if DATA_DIR.resolve() == (ROOT / ".data").resolve() else str(DATA_DIR)

log = logging.getLogger("devstack")


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def require_free_port(port: int, variable: str) -> None:
    """Exit with a clear message if `port` is taken."""
    if not port_is_free(port):
        sys.exit(
            f"devstack: port {port} is already in use. Stop whatever uses it, "
            f"or pick another port: make dev {variable}={port + 1}"
        )


def database_url() -> tuple[str, EmbeddedPostgres | None]:
    """DATABASE_URL when given, else the embedded server under .data/postgres, migrated to the newest schema;
    returns (URL, the embedded server or None)."""
    url, server = os.environ.get("DATABASE_URL"), None
    if not url:
        print(f"devstack: starting embedded PostgreSQL (data in {SHOWN_DATA}/postgres)", flush=True)
        server = EmbeddedPostgres(DATA_DIR / "postgres")
        url = create_database(server.start(), "taskflow")
    migrate(url)
    return url, server


def queue_endpoint(port: int) -> tuple[str, subprocess.Popen | None]:
    """AWS_ENDPOINT_URL when given, else LocalStack started on `port`; returns (endpoint, LocalStack process)."""
    if os.environ.get("AWS_ENDPOINT_URL"):
        return os.environ["AWS_ENDPOINT_URL"], None
    require_free_port(port, "LOCALSTACK_PORT")
    print(f"devstack: starting LocalStack SQS on port {port} (log in {SHOWN_DATA}/localstack.log)", flush=True)
    log_file = open(DATA_DIR / "localstack.log", "ab")  # noqa: SIM115 - open for LocalStack's lifetime
    return f"http://127.0.0.1:{port}", start_localstack(port, DATA_DIR / "localstack", log_file)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def banner(api_port: int, api_key: str) -> str:
    base = f"http://127.0.0.1:{api_port}"
    return f"""
  Taskflow is up.
    API          {base}
    API docs     {base}/docs   (Authorize with the key below)
    Readiness    {base}/ready
    Dashboard    {base}/   (sign in with the key below)
    Metrics      {base}/metrics   (consumer :{api_port + 100}/metrics, relay :{api_port + 101}/metrics)
    Email sink   SMTP :{api_port + 102}, emails per task at http://127.0.0.1:{api_port + 103}/deliveries
    API key      {api_key}   (tenant "dev"; kept in {SHOWN_DATA}/dev-api-key)

  Create a task and fetch it (the consumer finishes it in milliseconds):
    export TASKFLOW_API_KEY={api_key}
    curl -s -X POST {base}/tasks -H "X-API-Key: $TASKFLOW_API_KEY" -H 'Content-Type: application/json' \\
      -H 'X-Request-ID: my-first-task' -d '{{"type": "word_stats", "payload": {{"text": "The quick brown fox."}}}}'
    curl -s -H "X-API-Key: $TASKFLOW_API_KEY" '{base}/tasks?limit=1'

  Other commands against this stack read its settings from {SHOWN_DATA}/dev.env (the API's address as $API,
  the SQS endpoint as $AWS_ENDPOINT_URL):  set -a; . {SHOWN_DATA}/dev.env; set +a
  The AWS CLI needs the endpoint on each command:  aws --endpoint-url $AWS_ENDPOINT_URL sqs list-queues
  Ctrl-C stops everything. Logs below are JSON; grep a correlation id to follow one task.
"""


def main() -> None:
    api_port = int(os.environ.get("API_PORT", "8000"))
    localstack_port = int(os.environ.get("LOCALSTACK_PORT", "4566"))
    DATA_DIR.mkdir(exist_ok=True)
    require_free_port(api_port, "API_PORT")
    # Whatever ends us, nothing we started outlives us: make's death (a closed terminal) sends us SIGTERM, SIGTERM
    # and SIGHUP stop everything as Ctrl-C does, and our children get SIGTERM from the kernel if we are killed.
    # SIGINT is set too: started in a script's background, we inherit it ignored, and Python keeps that.
    die_with_parent()
    for stop_signal in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop_signal, _interrupt)
    group = ProcessGroup()
    postgres = localstack = None
    try:
        url, postgres = database_url()
        endpoint, localstack = queue_endpoint(localstack_port)
        region = os.environ.get("AWS_REGION", "us-east-1")
        queue_name = os.environ.get("QUEUE_NAME", "taskflow-tasks")
        if localstack is None:  # our LocalStack ran the same provisioning as its ready hook
            provision_queues(endpoint, region, queue_name)
        env = {
            "DATABASE_URL": url,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,  # the name version 1 of the AWS CLI reads
            "ESM_METRICS_PORT": str(api_port + 100),
            "RELAY_METRICS_PORT": str(api_port + 101),
            "QUEUE_NAME": queue_name,
            "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "test"),
            "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
            "SMTP_PORT": str(api_port + 102),
            "MAIL_SINK_URL": f"http://127.0.0.1:{api_port + 103}",
            "WEBHOOKS_ALLOW_HTTP_LOOPBACK": "true",  # callbacks to a receiver on this machine
        }
        # For commands run by hand against this stack (`set -a; . .data/dev.env; set +a`), the API's address too.
        by_hand = env | {"API": f"http://127.0.0.1:{api_port}"}
        (DATA_DIR / "dev.env").write_text("".join(f"{name}={value}\n" for name, value in by_hand.items()))
        for name, command in {**service_commands(api_port), "mail": mail_sink_command(api_port)}.items():
            group.start(name, command, env)
        wait_until_healthy(f"http://127.0.0.1:{api_port}/health")
        print(banner(api_port, dev_api_key(url, DATA_DIR / "dev-api-key")), flush=True)
        while not group.exited():
            time.sleep(0.5)
        sys.exit(f"devstack: {group.exited()} stopped unexpectedly; stopping the rest")
    except KeyboardInterrupt:
        print("\ndevstack: stopping", flush=True)
    finally:
        # Everything at once, on one deadline: one after another, a loaded machine took three timeouts. PostgreSQL
        # gets its fast shutdown first (the SIGTERM that follows cannot slow it down).
        stopping = postgres.begin_stop() if postgres is not None else None
        group.stop_all(STOP_SECONDS, also=[p for p in (localstack, stopping) if p is not None])


if __name__ == "__main__":
    main()
