"""The peer's API: POST /tasks validates the body, saves the row, then hands the id to Celery; GET /health.
Run: uvicorn bench.peer.app:app (with the settings this project's API runs with)."""

import os
import uuid

from fastapi import FastAPI
from psycopg.types.json import Jsonb
from pydantic import BaseModel
from sqlalchemy import create_engine, text

from bench.peer.worker import run_word_stats

engine = create_engine(os.environ["PEER_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1),
                       pool_size=20, max_overflow=0)  # fmt: skip
app = FastAPI()
INSERT = text("INSERT INTO peer_tasks (id, type, payload, status) VALUES (:id, :type, :payload, 'pending')")


class TaskCreate(BaseModel):
    type: str
    payload: dict


@app.get("/health")
def health() -> dict:
    return {"status": "ok"}


@app.post("/tasks", status_code=201)
def create_task(body: TaskCreate) -> dict:
    """Save the task, then queue it (after the commit, so the worker always finds the row)."""
    task_id = uuid.uuid4()
    with engine.begin() as connection:
        connection.execute(INSERT, {"id": task_id, "type": body.type, "payload": Jsonb(body.payload)})
    run_word_stats.delay(str(task_id))
    return {"id": str(task_id), "status": "pending"}
