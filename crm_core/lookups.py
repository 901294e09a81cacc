"""`field__any_of=ids`: the field's value is one of these integers.

On PostgreSQL the ids travel as ONE array parameter (`field = ANY(%s::bigint[])`, the array's text
made with one join): a batch of a thousand ids costs a short query and one value to adapt, where an
`__in` list costs a thousand placeholders that Django resolves and psycopg quotes one by one, on
every call. Elsewhere (SQLite) it is the usual IN list. Registered on integer fields and foreign
keys by crm_core's AppConfig.
"""

from __future__ import annotations

from django.core.exceptions import EmptyResultSet
from django.db.models import ForeignObject, IntegerField, Lookup


class AnyOf(Lookup):
    lookup_name = "any_of"
    prepare_rhs = False

    def process_rhs(self, compiler, connection):
        ids = [int(value) for value in self.rhs]
        if not ids:
            raise EmptyResultSet
        if connection.vendor == "postgresql":
            return "%s::bigint[]", ["{" + ",".join(map(str, ids)) + "}"]
        return "(" + ", ".join(["%s"] * len(ids)) + ")", ids

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY({rhs})", [*lhs_params, *rhs_params]
        return f"{lhs} IN {rhs}", [*lhs_params, *rhs_params]


def register() -> None:
    IntegerField.register_lookup(AnyOf)
    ForeignObject.register_lookup(AnyOf)
