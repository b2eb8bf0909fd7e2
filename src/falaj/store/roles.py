"""A table owner separate from the application role (PostgreSQL deployments that allow it).

The audit ledger's triggers refuse UPDATE, DELETE, TRUNCATE and a reused ``seq``/``event_id``,
but a table's *owner* may drop or disable triggers. When the application connects as a role
that owns nothing, it cannot: :func:`owner_role_sql` writes the SQL that hands every table,
sequence and the guard function of one schema to a ``NOLOGIN`` owner role, and grants the
application role what it needs — ``SELECT, INSERT, UPDATE, DELETE`` on the tables, but only
``SELECT, INSERT`` on ``audit_events``. Migrations then run as the owner (``falaj db upgrade``
with ``?options=-crole%3D<owner>`` in the URL of a login role that is a member of it).
"""

from __future__ import annotations

import re

from falaj.errors import InvalidInputError, preview

__all__ = ["owner_role_sql"]

_IDENT = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def _ident(value: str, what: str) -> str:
    if not isinstance(value, str) or not _IDENT.fullmatch(value):
        raise InvalidInputError(
            f"{what} {preview(value)} is invalid: expected a lower-case PostgreSQL name "
            "(letters, digits, '_'; at most 63 characters; not starting with a digit)"
        )
    return value


def owner_role_sql(
    *, app_role: str, owner_role: str = "falaj_owner", schema: str = "public"
) -> str:
    """SQL (run once by a superuser or a CREATEROLE role) moving ownership away from the app."""
    app = _ident(app_role, "--app-role")
    owner = _ident(owner_role, "--owner-role")
    sch = _ident(schema, "--schema")
    if app == owner:
        raise InvalidInputError(
            f"--app-role {app!r} is the owner role too: the point is that the application "
            "role owns nothing"
        )
    return f"""\
-- Falaj: a table owner separate from the application role (schema {sch}).
-- Run once as a superuser (or a role with CREATEROLE that may reassign these tables).
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{owner}') THEN
    CREATE ROLE {owner} NOLOGIN;
  END IF;
END $$;
GRANT USAGE, CREATE ON SCHEMA {sch} TO {owner};
DO $$ DECLARE t record; BEGIN
  FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = '{sch}' LOOP
    EXECUTE format('ALTER TABLE {sch}.%I OWNER TO {owner}', t.tablename);
  END LOOP;
  FOR t IN SELECT sequencename FROM pg_sequences WHERE schemaname = '{sch}' LOOP
    EXECUTE format('ALTER SEQUENCE {sch}.%I OWNER TO {owner}', t.sequencename);
  END LOOP;
  IF EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE p.proname = 'falaj_audit_append_only' AND n.nspname = '{sch}') THEN
    ALTER FUNCTION {sch}.falaj_audit_append_only() OWNER TO {owner};
  END IF;
END $$;
REVOKE ALL ON ALL TABLES IN SCHEMA {sch} FROM {app};
GRANT USAGE ON SCHEMA {sch} TO {app};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {sch} TO {app};
REVOKE UPDATE, DELETE, TRUNCATE ON {sch}.audit_events FROM {app};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {sch} TO {app};
ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {sch}
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app};
ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {sch}
  GRANT USAGE, SELECT ON SEQUENCES TO {app};
"""
