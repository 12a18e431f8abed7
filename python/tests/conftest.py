import os

import pytest

import seclog


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """Runs the test in an empty directory (the default db_file lands there)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def logger(workdir):
    lg = seclog.create_security_logger({"db_file": os.fspath(workdir / "events.db")})
    yield lg
    lg.close()
