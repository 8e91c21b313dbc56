"""Listening to PostgreSQL notifications on a connection of its own, connected again whenever it drops: the relay
waits on the outbox's channel (a thread, psycopg's sync API), the API's live feed on task events (asyncio)."""

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Iterator

import psycopg
from tenacity import Retrying, before_sleep_log, retry_if_exception_type, stop_when_event_set, wait_exponential_jitter

from taskflow.db.login import DatabaseLogin

# An unreachable database must not hold a connect (and so a process's stop) for long.
CONNECT_TIMEOUT_SECONDS = 3
log = logging.getLogger("taskflow.listen")


def listening(login: DatabaseLogin, channel: str, stopping: threading.Event) -> Iterator[psycopg.Connection]:
    """Yield a connection that LISTENs on `channel`; once the caller comes back (its connection failed), a new
    one, connected with backoff. Ends when `stopping` is set."""
    retrying = Retrying(
        retry=retry_if_exception_type(psycopg.OperationalError),
        wait=wait_exponential_jitter(multiplier=0.2, max=5),
        stop=stop_when_event_set(stopping),
        sleep=stopping.wait,
        before_sleep=before_sleep_log(log, logging.WARNING),
        reraise=True,
    )
    while not stopping.is_set():
        try:
            connection = retrying(_connect_and_listen, login, channel)
        except psycopg.OperationalError:  # only once stopping: the retries go on until then
            return
        with connection:
            yield connection


async def listening_async(login: DatabaseLogin, channel: str) -> AsyncIterator[psycopg.AsyncConnection]:
    """The asyncio twin of `listening`; ends when its task is cancelled."""
    while True:
        try:
            connection = await login.connect_async(autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS)
            await connection.execute(f"LISTEN {channel}")
        except psycopg.OperationalError as error:
            log.warning("cannot listen; trying again", extra={"channel": channel, "error": str(error)})
            await asyncio.sleep(1)
            continue
        async with connection:
            yield connection


def _connect_and_listen(login: DatabaseLogin, channel: str) -> psycopg.Connection:
    connection = login.connect(autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS)
    connection.execute(f"LISTEN {channel}")
    return connection
