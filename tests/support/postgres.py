"""A fresh PostgreSQL database per test, on the server named by ``PUBLISHER_TEST_PG``."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

URL_ENV = "PUBLISHER_TEST_PG"


def unavailable(reason: str) -> None:
    if os.environ.get("PUBLISHER_CI") == "1":
        pytest.fail(f"{reason}; PUBLISHER_CI=1, so the PostgreSQL tests must run")
    pytest.skip(reason)


def fresh_database() -> Iterator[str]:
    """A fresh, empty database on the test server; dropped afterwards."""
    url = os.environ.get(URL_ENV, "").strip()
    if not url:
        unavailable(f"{URL_ENV} is not set (e.g. postgresql://publisher@127.0.0.1:5432/test)")
    try:
        import psycopg
    except ImportError:
        unavailable("psycopg is not installed (pip install 'publisher[postgres]')")
    try:
        admin = psycopg.connect(url, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        unavailable(f"PostgreSQL at ${URL_ENV} is unreachable: {str(exc).splitlines()[0]}")
    name = f"publisher_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield urlsplit(url)._replace(path=f"/{name}").geturl()
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
