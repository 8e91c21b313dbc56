"""Telling, from outside, that a connection waits for a lock another transaction holds."""

from sqlalchemy import text

WAITING = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"


def blocked_on_a_lock(sessions) -> bool:
    """Whether a connection to this database waits for a lock (asked in a transaction of its own: within one,
    pg_stat_activity shows the same snapshot every time)."""
    with sessions() as session:
        return session.execute(text(WAITING)).scalar() > 0
