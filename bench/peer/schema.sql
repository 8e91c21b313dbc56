-- The peer's one table: what a FastAPI + Celery project keeps of its tasks.
CREATE TABLE IF NOT EXISTS peer_tasks (
    id uuid PRIMARY KEY,
    type text NOT NULL,
    payload jsonb NOT NULL,
    status text NOT NULL,
    result jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
