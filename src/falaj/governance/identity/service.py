"""Users, service accounts, role bindings and API tokens (``ws.identity``).

Every call is authorized through the seam (``user.*``/``token.*``: admin only under the server's
policy; an embedded workspace's owner bootstraps the first admin). :meth:`IdentityService.
authenticate` is the one exception: it *is* the authentication step, runs before any principal
exists, and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from falaj.errors import InvalidInputError, NotFoundError
from falaj.governance.authorization import BUILTIN_ROLES, Action, Binding
from falaj.governance.context import machinery
from falaj.governance.identity.errors import (
    AuthenticationError,
    TokenNotFoundError,
    UserExistsError,
    UserNotFoundError,
)
from falaj.governance.identity.principals import ScopedPrincipal
from falaj.governance.identity.tokens import (
    ApiToken,
    new_token,
    parse_duration,
    parse_token,
    secret_matches,
)
from falaj.governance.identity_tables import api_tokens, role_bindings, users
from falaj.governance.principal import Principal, PrincipalKind
from falaj.governance.service import Service, ServiceContext
from falaj.store.schema import new_id, utcnow

__all__ = ["IdentityService", "User"]

Clock = Callable[[], dt.datetime]
_SCOPE_KINDS = ("model", "dataset", "experiment", "run", "pipeline_run")


@dataclass(frozen=True)
class User:
    """A person (``user``) or a machine (``service``) that can hold roles and tokens."""

    name: str
    kind: str
    active: bool
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    bindings: tuple[Binding, ...] = ()


def check_role(role: str) -> str:
    if role not in BUILTIN_ROLES:
        raise InvalidInputError(
            f"role {str(role)[:100]!r} is unknown: expected one of {', '.join(BUILTIN_ROLES)}"
        )
    return role


def binding_scope(project: str | None = None, resource: str | None = None) -> str:
    """The binding scope for ``--project P`` / ``--resource KIND:ID`` (neither: ``*``)."""
    if project is not None and resource is not None:
        raise InvalidInputError("give a project or a resource for a role binding, not both")
    if project is not None:
        if not isinstance(project, str) or not project.strip() or len(project) > 200:
            raise InvalidInputError(f"project {project!r} is invalid: expected 1-200 characters")
        return f"project:{project}"
    if resource is not None:
        kind, sep, ident = str(resource).partition(":")
        if not sep or kind not in _SCOPE_KINDS or not ident or len(ident) > 250:
            raise InvalidInputError(
                f"resource {str(resource)[:100]!r} is invalid: expected KIND:ID with KIND one of "
                f"{', '.join(_SCOPE_KINDS)}, e.g. model:credit"
            )
        return f"{kind}:{ident}"
    return "*"


class IdentityService(Service):
    """Users, bindings and tokens, stored in the workspace's metadata store."""

    def __init__(self, context: ServiceContext, *, clock: Clock = utcnow) -> None:
        super().__init__(context)
        self._clock = clock

    # -- users ---------------------------------------------------------------------------------
    def create_user(
        self,
        name: str,
        *,
        role: str | None = None,
        kind: PrincipalKind = "user",
        project: str | None = None,
        resource: str | None = None,
    ) -> User:
        """Create a user (or a ``service`` account), optionally with a first role binding."""
        principal = Principal(name, kind)  # validates name and kind
        if role is not None:
            check_role(role)
        scope = binding_scope(project, resource)
        details = {"kind": kind, "role": role, "scope": scope}
        with self.mutation(Action.USER_CREATE, "user", principal.name, details=details) as m:
            if m.conn.execute(sa.select(users.c.name).where(users.c.name == name)).first():
                raise UserExistsError(f"user {name!r} already exists")
            now = self._clock()
            m.conn.execute(
                sa.insert(users).values(
                    name=name,
                    kind=kind,
                    active=True,
                    created_by=m.actor.principal.name,
                    created_at=now,
                    updated_at=now,
                )
            )
            if role is not None:
                self._insert_binding(m.conn, name, role, scope, m.actor.principal.name)
        with machinery():  # reading back what this authorized call wrote
            return self.get_user(name)

    def get_user(self, name: str) -> User:
        self.authorize(Action.USER_READ, "user", str(name)[:200])
        with self.store.read() as conn:
            row = conn.execute(sa.select(users).where(users.c.name == name)).first()
            if row is None:
                raise UserNotFoundError(f"user {str(name)[:200]!r} does not exist")
            return self._user(conn, row)

    def list_users(self) -> list[User]:
        self.authorize(Action.USER_READ, "user", "*")
        with self.store.read() as conn:
            rows = conn.execute(sa.select(users).order_by(users.c.name)).all()
            return [self._user(conn, r) for r in rows]

    def set_active(self, name: str, active: bool) -> User:
        """Deactivate (or reactivate) a user: their tokens stop working on the next request."""
        with self.mutation(
            Action.USER_UPDATE, "user", str(name)[:200], details={"active": active}
        ) as m:
            done = m.conn.execute(
                sa.update(users)
                .where(users.c.name == name)
                .values(active=bool(active), updated_at=self._clock())
            )
            if done.rowcount == 0:
                raise UserNotFoundError(f"user {str(name)[:200]!r} does not exist")
        with machinery():
            return self.get_user(name)

    def deactivate(self, name: str) -> User:
        return self.set_active(name, False)

    # -- role bindings -------------------------------------------------------------------------
    def bind(
        self, subject: str, role: str, *, project: str | None = None, resource: str | None = None
    ) -> Binding:
        """Give ``subject`` (a user name, or ``group:NAME``) ``role`` on a scope."""
        check_role(role)
        scope = binding_scope(project, resource)
        if not isinstance(subject, str) or not subject.strip() or len(subject) > 200:
            raise InvalidInputError(f"subject {subject!r} is invalid: expected 1-200 characters")
        details = {"role": role, "scope": scope}
        with self.mutation(Action.USER_UPDATE, "user", subject, details=details) as m:
            if (
                not subject.startswith("group:")
                and not m.conn.execute(
                    sa.select(users.c.name).where(users.c.name == subject)
                ).first()
            ):
                raise UserNotFoundError(f"user {subject!r} does not exist")
            exists = m.conn.execute(
                sa.select(role_bindings.c.id).where(
                    role_bindings.c.subject == subject,
                    role_bindings.c.role == role,
                    role_bindings.c.scope == scope,
                )
            ).first()
            if exists is None:
                self._insert_binding(m.conn, subject, role, scope, m.actor.principal.name)
        return Binding(subject, role, scope)

    def unbind(
        self, subject: str, role: str, *, project: str | None = None, resource: str | None = None
    ) -> None:
        scope = binding_scope(project, resource)
        details = {"role": role, "scope": scope, "removed": True}
        with self.mutation(Action.USER_UPDATE, "user", str(subject)[:200], details=details) as m:
            done = m.conn.execute(
                sa.delete(role_bindings).where(
                    role_bindings.c.subject == subject,
                    role_bindings.c.role == role,
                    role_bindings.c.scope == scope,
                )
            )
            if done.rowcount == 0:
                raise NotFoundError(f"{subject!r} holds no role {role!r} on {scope!r}")

    def bindings(self) -> list[Binding]:
        self.authorize(Action.USER_READ, "user", "*")
        with self.store.read() as conn:
            rows = conn.execute(
                sa.select(role_bindings).order_by(role_bindings.c.subject, role_bindings.c.role)
            ).all()
        return [Binding(r.subject, r.role, r.scope) for r in rows]

    # -- tokens --------------------------------------------------------------------------------
    def create_token(
        self,
        user: str,
        *,
        expires: str | dt.timedelta | None = "30d",
        scopes: Iterable[str] | None = None,
        description: str | None = None,
    ) -> tuple[ApiToken, str]:
        """A new token for ``user``: ``(its public facts, the token text)``. The text is shown
        this once; only a hash of its secret is stored."""
        lifetime = parse_duration(expires) if isinstance(expires, str) else expires
        if lifetime is not None and lifetime <= dt.timedelta(0):
            raise InvalidInputError(f"expires {expires!r} is invalid: expected a positive duration")
        scope_list = None if scopes is None else sorted({check_role(s) for s in scopes})
        if scope_list == []:
            scope_list = None
        if description is not None and len(description) > 500:
            raise InvalidInputError("description is too long: at most 500 characters")
        token_id, text, digest = new_token()
        now = self._clock()
        expires_at = now + lifetime if lifetime is not None else None
        details = {"user": user, "scopes": scope_list, "expires_at": expires_at}
        with self.mutation(Action.TOKEN_CREATE, "token", token_id, details=details) as m:
            row = m.conn.execute(sa.select(users).where(users.c.name == user)).first()
            if row is None:
                raise UserNotFoundError(f"user {str(user)[:200]!r} does not exist")
            if not row.active:
                raise InvalidInputError(f"user {user!r} is deactivated: no token can be created")
            values = {
                "id": token_id,
                "user_name": user,
                "secret_sha256": digest,
                "scopes": scope_list,
                "description": description,
                "created_by": m.actor.principal.name,
                "created_at": now,
                "expires_at": expires_at,
                "revoked_at": None,
            }
            m.conn.execute(sa.insert(api_tokens).values(**values))
        return _token(values), text

    def list_tokens(self, user: str | None = None) -> list[ApiToken]:
        self.authorize(Action.TOKEN_READ, "token", "*")
        query = sa.select(api_tokens).order_by(api_tokens.c.created_at)
        if user is not None:
            query = query.where(api_tokens.c.user_name == user)
        with self.store.read() as conn:
            return [_token(r._mapping) for r in conn.execute(query)]

    def revoke_token(self, token_id: str) -> ApiToken:
        """Revoke a token: the next request carrying it is refused."""
        with self.mutation(Action.TOKEN_REVOKE, "token", str(token_id)[:32]) as m:
            row = m.conn.execute(sa.select(api_tokens).where(api_tokens.c.id == token_id)).first()
            if row is None:
                raise TokenNotFoundError(f"token {str(token_id)[:40]!r} does not exist")
            if row.revoked_at is None:
                m.conn.execute(
                    sa.update(api_tokens)
                    .where(api_tokens.c.id == token_id)
                    .values(revoked_at=self._clock())
                )
            row = m.conn.execute(sa.select(api_tokens).where(api_tokens.c.id == token_id)).one()
        return _token(row._mapping)

    # -- authentication ------------------------------------------------------------------------
    def authenticate(self, text: str) -> ScopedPrincipal:
        """The principal an API token proves, checked now: it exists, its secret matches, it
        is neither revoked nor expired, and its user is active. Raises
        :class:`AuthenticationError` (one message for every failure: no oracle)."""
        parsed = parse_token(text)
        if parsed is None:
            raise AuthenticationError("invalid token: not a Falaj API token")
        token_id, secret = parsed
        with self.store.read() as conn:
            row = conn.execute(
                sa.select(api_tokens, users.c.kind, users.c.active)
                .join(users, users.c.name == api_tokens.c.user_name)
                .where(api_tokens.c.id == token_id)
            ).first()
        refused = AuthenticationError("invalid token: unknown, expired, revoked or deactivated")
        if row is None or not secret_matches(secret, row.secret_sha256):
            raise refused
        if row.revoked_at is not None or not row.active:
            raise refused
        if row.expires_at is not None and self._clock() >= row.expires_at:
            raise refused
        scopes = frozenset(row.scopes) if row.scopes else None
        # The roles held everywhere travel with the principal (policies judge approvers by
        # them); scoped bindings stay with the authorizer, which reads them per decision.
        with self.store.read() as conn:
            held = set(
                conn.execute(
                    sa.select(role_bindings.c.role).where(
                        role_bindings.c.subject == row.user_name, role_bindings.c.scope == "*"
                    )
                ).scalars()
            )
        if scopes is not None:
            held &= scopes
        return ScopedPrincipal(row.user_name, row.kind, roles=frozenset(held), scopes=scopes)

    def is_active(self, name: str) -> bool | None:
        """Whether a user is active (``None``: no such user); for the server's checks."""
        with self.store.read() as conn:
            row = conn.execute(sa.select(users.c.active).where(users.c.name == name)).first()
        return None if row is None else bool(row.active)

    # -- helpers -------------------------------------------------------------------------------
    def _insert_binding(
        self, conn: sa.Connection, subject: str, role: str, scope: str, by: str
    ) -> None:
        conn.execute(
            sa.insert(role_bindings).values(
                id=new_id(),
                subject=subject,
                role=role,
                scope=scope,
                created_by=by,
                created_at=self._clock(),
            )
        )

    @staticmethod
    def _user(conn: sa.Connection, row: sa.Row[tuple[object, ...]]) -> User:
        found = conn.execute(
            sa.select(role_bindings.c.role, role_bindings.c.scope)
            .where(role_bindings.c.subject == row.name)
            .order_by(role_bindings.c.role)
        ).all()
        values = dict(row._mapping)
        return User(**values, bindings=tuple(Binding(row.name, b.role, b.scope) for b in found))


def _token(values: object) -> ApiToken:
    v = dict(values)  # type: ignore[call-overload]
    scopes = v.get("scopes")
    return ApiToken(
        id=v["id"],
        user=v["user_name"],
        scopes=tuple(scopes) if scopes else None,
        description=v.get("description"),
        created_by=v["created_by"],
        created_at=v["created_at"],
        expires_at=v.get("expires_at"),
        revoked_at=v.get("revoked_at"),
    )
