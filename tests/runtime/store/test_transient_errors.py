"""Which store errors are waited out (retried on a fresh connection) and which are not.

A run's own writes retry transient errors for as long as the database is away; anything
else fails the write at once. Each case is the exception the driver raises."""

from __future__ import annotations

import sqlite3

import asyncpg
import pytest

from runtime.store.db import is_transient


@pytest.mark.parametrize("exc", [
    sqlite3.OperationalError("database is locked"),
    ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)"),
    asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
    # Seen in CI while PostgreSQL was being stopped: the server's shutdown error had
    # reached an idle pooled connection that was not closed yet.
    asyncpg.InternalClientError("cannot switch to state 11; another operation (2) is in progress"),
], ids=type)
def test_an_outage_error_is_waited_out(exc: BaseException) -> None:
    assert is_transient(exc)


@pytest.mark.parametrize("exc", [
    sqlite3.OperationalError('near "SELEC": syntax error'),
    asyncpg.exceptions.UniqueViolationError("duplicate key value violates unique constraint"),
    asyncpg.DataError("invalid input for query argument $1"),
    ValueError("not a store error"),
], ids=type)
def test_a_rejected_write_is_not_retried(exc: BaseException) -> None:
    assert not is_transient(exc)
