"""Rows another app hands to a set-based crm_core service on PostgreSQL, without fetching them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SqlRows:
    """A relation for PostgreSQL: a SELECT (or a table name) and its params, columns in the order the
    receiving service documents; the service runs its INSERT or UPDATE over it in one statement.

    `ctes`/`cte_params`: a WITH list (without the keyword) the SELECT reads, for a caller whose rows
    come from its own data-modifying statement (PostgreSQL allows those only at the top of a
    statement). The SQL is built by the caller's code, never from user input.
    """

    sql: str
    params: Sequence = ()
    ctes: str = ""
    cte_params: Sequence = ()

    def relation(self) -> str:
        sql = self.sql.strip()
        return f"({sql})" if " " in sql else sql

    def with_clause(self) -> str:
        return f"WITH {self.ctes}" if self.ctes else ""
