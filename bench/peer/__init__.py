"""The peer a user would pick instead of this project, for `make bench` to measure beside it: FastAPI and PostgreSQL
with Celery on Redis, written as a competent user would. POST /tasks saves the row, then calls `.delay()` (app.py);
a prefork worker with 4 processes and acks_late computes the same word_stats and marks the row succeeded (worker.py).
"""
