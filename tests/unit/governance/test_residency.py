"""Data residency: writes, exports and deployments that would place classified data outside
its allowed regions are refused with a clear error and audited."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from falaj.errors import ConfigError, PolicyViolationError
from falaj.governance.errors import ResidencyViolationError
from falaj.governance.residency import ResidencyPolicy
from falaj.workspace import Workspace
from tests.registry_support import log_model

POLICY = """
[regions]
pii = ["ae-*"]
confidential = ["ae-dubai-1"]
"""


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"customer": ["a", "b", "c"], "income": [1.0, 2.0, 3.0]})


@pytest.fixture
def governed(ws: Workspace) -> Workspace:
    (ws.home / "residency.toml").write_text(POLICY)
    return ws


def test_policy_patterns_and_unlisted_classifications() -> None:
    policy = ResidencyPolicy.from_mapping({"regions": {"pii": ["ae-*", "sa-riyadh-1"]}})
    assert policy.violations(["pii", "target"], "ae-dubai-1") == []
    assert policy.violations(["pii", "target"], "us-east-1") == ["pii"]
    with pytest.raises(
        ResidencyViolationError, match=r"may live only in \['ae-\*', 'sa-riyadh-1'\]"
    ):
        policy.check(["pii"], "eu-west-1", "copy x")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[regions]\npii = []\n", "regions.pii"),
        ("[regions]\npii = 'ae-*'\n", "regions.pii"),
        ("[zones]\npii = ['ae-*']\n", "unknown section"),
        ("[regions\n", "not valid TOML"),
    ],
)
def test_malformed_policy_names_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "residency.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        ResidencyPolicy.load(path)


def test_registering_pii_outside_its_regions_is_refused_and_audited(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "us", region="us-east-1") as ws:
        (ws.home / "residency.toml").write_text(POLICY)
        with pytest.raises(PolicyViolationError, match="register dataset loans refused") as info:
            ws.datasets.register("loans", _frame(), classifications={"customer": ["pii"]})
        assert info.value.exit_code == 8 and "'us-east-1'" in str(info.value)
        assert ws.datasets.latest_versions() == []  # nothing stored
        (event,) = ws.audit.list(action="dataset.register", limit=1)
        assert event.outcome == "denied"
        assert event.details["classifications"] == ["pii"]
        assert event.details["region"] == "us-east-1"
        # unclassified data may live anywhere
        assert ws.datasets.register("public", _frame()).version == 1


def test_registering_pii_inside_its_regions_is_allowed(governed: Workspace) -> None:
    dv = governed.datasets.register("loans", _frame(), classifications={"customer": ["pii"]})
    assert dv.classifications == {"customer": ["pii"]}


def test_export_outside_the_allowed_regions_is_refused(governed: Workspace, tmp_path: Path) -> None:
    governed.datasets.register("loans", _frame(), classifications={"income": ["confidential"]})
    dest = tmp_path / "out" / "loans.parquet"
    with pytest.raises(ResidencyViolationError, match="export dataset loans@1 refused"):
        governed.datasets.export("loans", dest, region="ae-abudhabi-1")
    assert not dest.exists()
    path = governed.datasets.export("loans", dest, region="ae-dubai-1")
    assert pd.read_parquet(path).equals(_frame())
    events = governed.audit.list(action="dataset.export", limit=2)
    assert [e.outcome for e in events] == ["success", "denied"]


def test_deployment_hook_refuses_regions_the_training_data_may_not_go(
    governed: Workspace,
) -> None:
    dv = governed.datasets.register("loans", _frame(), classifications={"customer": ["pii"]})
    logged = log_model(governed, dataset_ids=[dv.id])
    mv = governed.registry.create_version("credit", logged)
    assert governed.model_classifications("credit", mv.version) == {"pii": [dv.id]}
    with pytest.raises(ResidencyViolationError, match="deploy model credit/1"):
        governed.check_deployment_residency("credit", mv.version, "us-east-1")
    governed.check_deployment_residency("credit", mv.version, "ae-abudhabi-1")


def test_a_deployment_to_a_region_the_training_data_may_not_go_is_refused(
    governed: Workspace,
) -> None:
    dv = governed.datasets.register("loans", _frame(), classifications={"customer": ["pii"]})
    mv = governed.registry.create_version("credit", log_model(governed, dataset_ids=[dv.id]))
    with pytest.raises(
        ResidencyViolationError, match="deploy model credit/1 to region 'us-east-1'"
    ):
        governed.serving.create_deployment("credit-us", f"credit/{mv.version}", region="us-east-1")
    assert [d.name for d in governed.serving.list_deployments()] == []  # nothing was created
    denied = governed.audit.list(outcome="denied")
    assert any("us-east-1" in str(e.details) for e in denied)
    # the workspace's own region (ae-dubai-1) and another allowed one are fine
    governed.serving.create_deployment("credit-home", f"credit/{mv.version}")
    dep = governed.serving.create_deployment(
        "credit-ad", f"credit/{mv.version}", region="ae-abudhabi-1"
    )
    assert dep.revisions[0].model_version == mv.version
