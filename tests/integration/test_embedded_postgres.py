"""The embedded PostgreSQL keeps its data where nothing takes it away: a second pytest session on the machine
(CI while a developer runs tests, or two runs at once) makes pytest's temporary root private again, and a server
running as another user with its data below it PANICs at its next checkpoint (DROP DATABASE forces one)."""

import os
import subprocess
import sys

import psycopg
import pytest

from devstack.postgres_process import PYTEST_TEMP_ROOT, EmbeddedPostgres

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another user")


def test_a_data_directory_below_pytests_temporary_root_is_refused(tmp_path):
    with pytest.raises(ValueError, match="next pytest session makes private"):
        EmbeddedPostgres(tmp_path / "postgres")


def test_a_second_pytest_session_leaves_the_servers_data_alone(private_dir, tmp_path):
    server = EmbeddedPostgres(private_dir / "postgres")
    url = server.start()
    try:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("CREATE DATABASE doomed")
        (tmp_path / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
        second = subprocess.run([sys.executable, "-m", "pytest", "-q", str(tmp_path)], capture_output=True, text=True)
        assert second.returncode == 0, second.stdout
        assert PYTEST_TEMP_ROOT.stat().st_mode & 0o077 == 0, "the second session made pytest's root private"
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("DROP DATABASE doomed WITH (FORCE)")  # forces a checkpoint: it reads pg_control
            assert admin.execute("SELECT 1").fetchone() == (1,)
    finally:
        server.stop()
