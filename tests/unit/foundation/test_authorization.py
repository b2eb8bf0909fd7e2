"""The authorization seam: exact actions, typed resources, role bindings, default deny."""

from __future__ import annotations

import pytest

from falaj.errors import InvalidInputError, PermissionDeniedError
from falaj.governance import (
    BUILTIN_ROLES,
    Action,
    Binding,
    DenyAll,
    Principal,
    Resource,
    RoleBindingAuthorizer,
)

BOB = Principal("bob")
RUN = Resource("run", "r1")


def test_role_binding_authorizer_denies_by_default() -> None:
    with pytest.raises(PermissionDeniedError, match=r"bob may not run\.read on run:r1"):
        RoleBindingAuthorizer().authorize(BOB, Action.RUN_READ, RUN)


def test_actions_match_exactly_not_by_prefix() -> None:
    authz = RoleBindingAuthorizer([Binding("bob", "loggers")], roles={"loggers": ["run.log"]})
    authz.authorize(BOB, Action.RUN_LOG, RUN)
    for sibling in (Action.RUN_LOG_MODEL, Action.RUN_LOG_ARTIFACT, Action.RUN_LOG_DATASET):
        with pytest.raises(PermissionDeniedError, match=sibling.value):
            authz.authorize(BOB, sibling, RUN)


def test_binding_scoped_to_a_model_covers_its_versions_only() -> None:
    authz = RoleBindingAuthorizer([Binding("bob", "approver", scope="model:credit")])
    authz.authorize(BOB, Action.MODEL_APPROVE, Resource.model_version("credit", 3))
    with pytest.raises(PermissionDeniedError):
        authz.authorize(BOB, Action.MODEL_APPROVE, Resource.model_version("fraud", 1))
    with pytest.raises(PermissionDeniedError):  # 'credit-2' is not a version of 'credit'
        authz.authorize(BOB, Action.MODEL_APPROVE, Resource.model_version("credit-2", 1))


def test_project_binding_covers_resources_of_that_project_only() -> None:
    authz = RoleBindingAuthorizer([Binding("bob", "viewer", scope="project:risk")])
    authz.authorize(BOB, Action.RUN_READ, Resource("run", "r1", project="risk"))
    with pytest.raises(PermissionDeniedError):
        authz.authorize(BOB, Action.RUN_READ, Resource("run", "r1", project="ops"))
    with pytest.raises(PermissionDeniedError):
        authz.authorize(BOB, Action.RUN_READ, Resource("run", "r1"))


def test_roles_carried_by_the_principal_and_group_bindings_apply() -> None:
    authz = RoleBindingAuthorizer([Binding("group:risk-team", "approver")])
    member = Principal("carol", roles=frozenset({"risk-team"}))
    authz.authorize(member, Action.MODEL_APPROVE, Resource.model_version("m", 1))
    viewer = Principal("dave", roles=frozenset({"viewer"}))
    authz.authorize(viewer, Action.MODEL_READ, Resource("model", "m"))
    with pytest.raises(PermissionDeniedError, match="roles held: viewer"):
        authz.authorize(viewer, Action.MODEL_PROMOTE, Resource.model_version("m", 1))


def test_promotion_is_its_own_permission() -> None:
    assert Action.MODEL_PROMOTE not in BUILTIN_ROLES["data-scientist"]
    assert Action.MODEL_PROMOTE in BUILTIN_ROLES["ml-engineer"]
    assert Action.MODEL_APPROVE not in BUILTIN_ROLES["ml-engineer"]
    assert BUILTIN_ROLES["admin"] == frozenset(Action)


def test_unknown_role_or_action_is_a_clear_error() -> None:
    with pytest.raises(InvalidInputError, match="role 'nobody' is unknown"):
        RoleBindingAuthorizer([Binding("bob", "nobody")])
    with pytest.raises(InvalidInputError, match=r"action 'run\.delete' is unknown"):
        RoleBindingAuthorizer(roles={"x": ["run.delete"]})


def test_deny_all_refuses_everything() -> None:
    with pytest.raises(PermissionDeniedError):
        DenyAll().authorize(BOB, Action.RUN_READ, RUN)


def test_resource_kind_is_checked() -> None:
    with pytest.raises(InvalidInputError, match="resource kind"):
        Resource("Run!", "x")
    assert str(Resource.model_version("credit", 2)) == "model_version:credit/2"
