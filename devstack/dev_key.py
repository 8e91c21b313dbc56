"""API keys for local stacks: the dev stack's own (kept in the data folder), and fresh ones for tests and benches."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.orm import Session

from taskflow.db.engine import make_engine, make_session_factory
from taskflow.services.api_keys import create_api_key, tenant_of_key


@contextmanager
def _session_on(database_url: str) -> Iterator[Session]:
    engine = make_engine(database_url, pool_size=1)
    try:
        with make_session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


def new_api_key(database_url: str, tenant_name: str) -> str:
    """A new key for `tenant_name` (created if new)."""
    with _session_on(database_url) as session:
        return create_api_key(session=session, tenant_name=tenant_name, key_name="local")[1]


def key_still_valid(database_url: str, key: str) -> bool:
    """True while the key exists and is not revoked."""
    with _session_on(database_url) as session:
        return tenant_of_key(session, key) is not None


def dev_api_key(database_url: str, key_file: Path) -> str:
    """The key saved in `key_file` if the database still accepts it, else a new one for tenant "dev" (mode 600)."""
    if key_file.exists() and key_still_valid(database_url, key := key_file.read_text().strip()):
        return key
    key = new_api_key(database_url, "dev")
    key_file.touch(mode=0o600)
    key_file.write_text(key + "\n")
    return key
