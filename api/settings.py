"""The API's settings, beside the shared ones (taskflow.settings)."""

from taskflow.settings import Settings


class ApiSettings(Settings):
    """The API's configuration; each field is read from the environment variable of its name."""

    database_pool_size: int = 20
    max_request_body_bytes: int = 1_048_576
    # API keys, hits and misses, are cached this long (a revoked key keeps working at most this long, open
    # streams included), in a cache of at most this many keys.
    api_key_cache_seconds: float = 30.0
    api_key_cache_size: int = 10_000
    # Open dashboard streams (GET /stream) one key may hold in one API process; beyond: 429.
    max_streams_per_key: int = 10
    # A page of GET /tasks?include=payload,result stops before this many bytes of payloads and results.
    max_page_bytes: int = 4_194_304
    # make dev's email sink (devstack.mail_sink): the dashboard shows how many emails each task sent. Unset: none.
    mail_sink_url: str | None = None
