"""The daemon's log is one line per event, with a level, even for a library's own warning."""
from __future__ import annotations

import io
import logging

import pytest

from workflows.daemon.logs import daemon_logger


@pytest.fixture
def restored_last_resort():
    kept = logging.lastResort
    yield
    logging.lastResort = kept


def test_a_librarys_warning_with_no_handler_is_a_timestamped_line_of_the_daemons_log(
        restored_last_resort, monkeypatch):
    # psycopg logs this when PostgreSQL drops the connection inside a pipeline; it has no
    # handler of its own, so it used to reach standard error as bare text.
    monkeypatch.setattr(logging.getLogger("psycopg"), "propagate", False)
    stream = io.StringIO()
    daemon_logger(stream, environ={})
    logging.getLogger("psycopg").warning("error ignored terminating %r: %s",
                                         "<psycopg.Pipeline [BAD]>", "the connection\nis lost")
    said = stream.getvalue().splitlines()
    assert len(said) == 1
    assert said[0].endswith(" WARNING error ignored terminating '<psycopg.Pipeline [BAD]>': "
                            "the connection is lost")
    assert said[0][:20].endswith("Z") and said[0][4] == "-"


def test_a_librarys_information_stays_out_of_the_daemons_log(restored_last_resort, monkeypatch):
    monkeypatch.setattr(logging.getLogger("psycopg"), "propagate", False)
    monkeypatch.setattr(logging.getLogger("psycopg"), "level", logging.INFO)
    stream = io.StringIO()
    daemon_logger(stream, environ={})
    logging.getLogger("psycopg").info("connection opened")
    assert stream.getvalue() == ""
