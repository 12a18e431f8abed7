"""The database file alone holds every event after close() and after interpreter exit;
wal_max_bytes comes from the config dict; backup() copies the database."""

import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap

import pytest

import seclog


def events_in_copy_of_db_file_alone(db, tmp_path):
    """Copies the .db file alone (not -wal / -shm) and counts its events with sqlite3."""
    copy = tmp_path / "copy" / "copy.db"
    copy.parent.mkdir()
    shutil.copyfile(db, copy)
    conn = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM security_events").fetchone()[0]
    finally:
        conn.close()


def log_many(logger, n):
    for i in range(n):
        seclog.log_auth_attempt(logger, user_id=f"u{i}", success=True, ip_address="192.0.2.7")


def test_close_leaves_every_event_in_the_database_file(workdir):
    db = workdir / "events.db"
    logger = seclog.create_security_logger({"db_file": os.fspath(db)})
    log_many(logger, 1000)
    logger.close()
    assert events_in_copy_of_db_file_alone(db, workdir) == 1000


def test_interpreter_exit_leaves_every_event_in_the_database_file(workdir):
    db = workdir / "events.db"
    script = textwrap.dedent(
        f"""
        import seclog
        logger = seclog.create_security_logger({{"db_file": {os.fspath(db)!r}}})
        for i in range(1000):
            seclog.log_auth_attempt(logger, user_id=f"u{{i}}", success=True)
        # no close(): the interpreter exits with the logger open
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert events_in_copy_of_db_file_alone(db, workdir) == 1000


def test_wal_max_bytes_comes_from_the_config_dict(workdir):
    cfg = {"db_file": os.fspath(workdir / "events.db"), "wal_max_bytes": 1 << 20}
    with seclog.create_security_logger(cfg) as logger:
        log_many(logger, 10)
    with pytest.raises(ValueError, match="wal_max_bytes"):
        seclog.create_security_logger({**cfg, "wal_max_bytes": 1000})


def test_backup_writes_a_copy_and_never_overwrites(logger, workdir):
    log_many(logger, 300)
    dest = workdir / "backup.db"
    logger.backup(dest)
    conn = sqlite3.connect(dest)
    assert conn.execute("SELECT count(*) FROM security_events").fetchone()[0] == 300
    conn.close()
    with pytest.raises(seclog.SeclogError):
        logger.backup(dest)
