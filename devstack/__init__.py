"""The whole system on one machine with no Docker: embedded PostgreSQL, LocalStack's SQS, and our processes.

`make dev` runs `python -m devstack`; the end-to-end tests and `make bench` start the same pieces.
"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Where the embedded PostgreSQL and LocalStack keep their state between runs.
DATA_DIR = Path(os.environ.get("TASKFLOW_DATA_DIR", ROOT / ".data"))
