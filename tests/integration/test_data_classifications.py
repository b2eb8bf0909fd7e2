"""Issue 10 items 4 and 6: derived versions keep their classifications; re-registering with
other classifications is not silently ignored; `classify` labels columns for later versions."""

from __future__ import annotations

import pandas as pd
import pytest

from falaj.data.errors import ClassificationConflictError
from falaj.workspace import Workspace

SUITE = {"suite": "contacts", "columns": {"age": {"type": "int", "min": 0}}}


def _contacts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "email": [f"person{i}@example.com" for i in range(8)],
            "age": [34, -1, 45, 29, -7, 51, 38, 40],
        }
    )


def test_quarantine_and_good_rows_inherit_classifications(ws: Workspace) -> None:
    source = ws.datasets.register("contacts", _contacts(), classifications={"email": ["pii"]})
    result = ws.datasets.validate(source.id, SUITE, policy="quarantine")
    assert result.quarantine_version_id == "contacts__quarantine@1"
    assert result.valid_version_id == "contacts__valid@1"
    bad = ws.datasets.get(result.quarantine_version_id)
    good = ws.datasets.get(result.valid_version_id)
    assert bad.classifications == {"email": ["pii"]}
    assert good.classifications == {"email": ["pii"]}
    profile = ws.datasets.profile(bad.id).columns["email"]
    assert profile.redacted and profile.top == []
    assert good.row_count == 6 and bad.row_count == 2
    assert ws.datasets.load(good.id)["age"].min() >= 0


def test_a_quarantined_frame_inherits_its_datasets_classifications(ws: Workspace) -> None:
    ws.datasets.register("contacts", _contacts().head(1), classifications={"email": ["pii"]})
    result = ws.datasets.validate(_contacts(), SUITE, policy="quarantine", name="contacts")
    bad = ws.datasets.get(result.quarantine_version_id)
    assert bad.classifications == {"email": ["pii"]}
    assert ws.datasets.profile(bad.id).columns["email"].redacted


def test_registering_known_content_with_new_labels_is_refused(ws: Workspace) -> None:
    first = ws.datasets.register("contacts", _contacts())
    with pytest.raises(ClassificationConflictError, match=r"\{'email': \['pii'\]\} given now"):
        ws.datasets.register("contacts", _contacts(), classifications={"email": ["pii"]})
    assert ws.datasets.get("contacts").classifications == {}
    assert [v.id for v in ws.datasets.versions("contacts")] == [first.id]
    again = ws.datasets.register("contacts", _contacts())  # same content, no labels: fine
    assert again.id == first.id


def test_classify_labels_later_versions_and_keeps_the_history(ws: Workspace) -> None:
    first = ws.datasets.register("contacts", _contacts())
    current = ws.datasets.classify("contacts", {"email": ["pii"]}, reason="privacy review")
    assert current == {"email": ["pii"]}
    assert ws.datasets.get(first.id).classifications == {}  # versions are immutable
    second = ws.datasets.register("contacts", _contacts().head(5))
    assert second.classifications == {"email": ["pii"]}
    assert ws.datasets.profile(second.id).columns["email"].redacted
    ws.datasets.classify("contacts", {"email": []})
    third = ws.datasets.register("contacts", _contacts().head(4))
    assert third.classifications == {}
    history = ws.datasets.classification_history("contacts")
    assert [(h.column, h.previous, h.labels, h.reason) for h in history] == [
        ("email", [], ["pii"], "privacy review"),
        ("email", ["pii"], [], None),
    ]
    events = ws.audit.list(action="dataset.classify")
    assert len(events) == 2 and {e.outcome for e in events} == {"success"}


def test_classify_refuses_an_unknown_column_and_changes_nothing(ws: Workspace) -> None:
    from falaj.errors import InvalidInputError

    ws.datasets.register("contacts", _contacts())
    with pytest.raises(InvalidInputError, match="'phone'"):
        ws.datasets.classify("contacts", {"phone": ["pii"]})
    assert ws.datasets.classification_history("contacts") == []
