"""YAML bombs: billion laughs, deep nesting, huge files and cycles, in every YAML Falaj reads.

Each attack runs in a child process capped at its current memory + 256 MiB and one second of
CPU time beyond its imports: a loader that expands the bomb is killed by a cap, and the test
fails. A safe loader refuses the file with the reader's own clear error, quickly.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adversarial.bounded import Outcome, run_bounded

ROOT = Path(__file__).resolve().parents[2]


def laughs(levels: int = 9, width: int = 9) -> str:
    """A flow list whose last item stands for width**levels strings (1-2 KB of text)."""
    items = ["&a0 [" + ", ".join(['"lol"'] * width) + "]"]
    for n in range(1, levels):
        items.append(f"&a{n} [" + ", ".join([f"*a{n - 1}"] * width) + "]")
    return "[" + ", ".join(items) + "]"


def deep(levels: int = 50_000) -> str:
    return "[" * levels + "]" * levels


SETUP = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
from pathlib import Path
"""

# reader name -> (setup imports, attack with {path}, document with {payload}, expected error)
READERS = {
    "expectation suite": (
        "from falaj.data.expectations import Suite",
        "Suite.from_file({path!r})",
        "suite: bomb\ncolumns:\n  x: {{type: str, in: {payload}}}\n",
        "ExpectationFileError",
    ),
    "pipeline spec params": (
        "from falaj.pipelines.spec import load_spec",
        "load_spec({path!r})",
        "name: bomb\nparams: {{p: {payload}}}\nsteps:\n"
        "  s: {{uses: 'tests.unit.pipelines.sample_steps:summarize', params: {{df: '${{p}}'}}}}\n",
        "PipelineDefinitionError",
    ),
    "HPO search space": (
        "from falaj.training.spec import SearchSpec",
        "SearchSpec.from_yaml({path!r})",
        "family: logistic_regression\nmetric: roc_auc\nspace: {{C: {payload}}}\n",
        "SearchSpaceError",
    ),
    "gate policy": (
        "from falaj.registry.policy import parse_policy",
        "parse_policy(Path({path!r}).read_text())",
        "risk: low\nreports: {payload}\n",
        "PolicyParseError",
    ),
}


def _attack(tmp_path: Path, reader: str, payload: str) -> Outcome:
    imports, call, template, _ = READERS[reader]
    path = tmp_path / "doc.yaml"
    path.write_text(template.format(payload=payload), encoding="utf-8")
    return run_bounded(SETUP + imports, "result = repr(" + call.format(path=str(path)) + ")[:200]")


@pytest.mark.parametrize("reader", sorted(READERS))
def test_billion_laughs_is_refused_under_a_memory_and_cpu_cap(tmp_path: Path, reader: str) -> None:
    bomb = laughs()
    assert len(bomb) < 2048  # the file is small; what it stands for is 387 million strings
    out = _attack(tmp_path, reader, bomb)
    assert out.raised(READERS[reader][3]), out
    assert out.raised("InvalidInputError"), out
    assert "expands to more than 1,000,000 values" in out.message
    assert "line " in out.message and "column " in out.message
    assert len(out.message) < 600  # the bomb is not echoed back


@pytest.mark.parametrize("reader", sorted(READERS))
def test_50000_levels_of_nesting_are_refused_without_recursion_error(
    tmp_path: Path, reader: str
) -> None:
    out = _attack(tmp_path, reader, deep())
    assert out.raised(READERS[reader][3]), out
    # refused by our depth cap, or earlier by libyaml's own scanner limit (1,000 flow levels)
    assert (
        "nesting is deeper than 100 levels" in out.message
        or "not valid YAML: exceeded maximum nesting depth" in out.message
    ), out.message
    assert "line 3" in out.message or "line 2" in out.message
    assert len(out.message) < 600


@pytest.mark.parametrize(
    "reader", ["expectation suite", "pipeline spec params", "HPO search space"]
)
def test_a_file_over_the_size_cap_is_refused_before_it_is_read(tmp_path: Path, reader: str) -> None:
    payload = '"' + "x" * (5 * 1024 * 1024) + '"'
    out = _attack(tmp_path, reader, payload)
    assert out.raised(READERS[reader][3]), out
    assert "YAML files are limited to 4,194,304 bytes" in out.message
    assert len(out.message) < 600


def test_a_self_referencing_alias_is_refused(tmp_path: Path) -> None:
    out = _attack(tmp_path, "pipeline spec params", "&loop [1, *loop]")
    assert out.raised("PipelineDefinitionError"), out
    assert "refers to a collection that contains it" in out.message


def test_legitimate_aliases_still_load() -> None:
    from falaj.yamlsafe import load_yaml

    doc = load_yaml("base: &b {lr: 0.1, depth: 3}\nrun: {<<: *b, depth: 5}\nsame: *b\n")
    assert doc == {
        "base": {"lr": 0.1, "depth": 3},
        "run": {"lr": 0.1, "depth": 5},
        "same": {"lr": 0.1, "depth": 3},
    }


def test_expansion_cap_counts_aliases_in_full() -> None:
    from falaj.yamlsafe import YamlError, YamlLimits, load_yaml

    text = "a: &a [1, 2, 3, 4, 5]\nb: [*a, *a, *a]\n"  # 1 + (1+1+5) + (1+1+3*6) = 28 values
    assert load_yaml(text, limits=YamlLimits(max_nodes=28))["b"][2] == [1, 2, 3, 4, 5]
    with pytest.raises(YamlError, match="expands to more than 27 values"):
        load_yaml(text, limits=YamlLimits(max_nodes=27))


def test_alias_depth_counts_where_it_is_used() -> None:
    from falaj.yamlsafe import YamlError, YamlLimits, load_yaml

    text = "a: &a [[[1]]]\nb: [[*a]]\n"  # *a (3 levels) used 3 levels down: depth 6
    assert load_yaml(text, limits=YamlLimits(max_depth=6))["b"] == [[[[[1]]]]]
    with pytest.raises(YamlError, match="line 2, column 6: nesting is deeper than 5 levels"):
        load_yaml(text, limits=YamlLimits(max_depth=5))


def test_step_param_sharing_sub_lists_is_refused_not_spun_on() -> None:
    """The Python API path: a shared structure as a step parameter (no YAML involved)."""
    setup = SETUP + (
        "from falaj.pipelines import pipeline\n"
        "from tests.unit.pipelines import sample_steps as s\n"
        "shared = ['lol'] * 9\n"
        "for _ in range(12):\n"
        "    shared = [shared] * 9\n"
        "@pipeline\n"
        "def bomb():\n"
        "    s.timed(seconds=0, label=shared)\n"
    )
    out = run_bounded(setup, "result = bomb.build().order")
    assert out.raised("PipelineDefinitionError"), out
    assert "holds more than 1,000,000 values" in out.message


BIG_LIST = "[" + ", ".join(str(n) for n in range(50_000)) + "]"  # 290 KB, no aliases


@pytest.mark.parametrize(
    ("reader", "document", "expected"),
    [
        (
            "expectation suite",
            f"suite: big\ncolumns: {BIG_LIST}\n",
            "columns: expected a mapping, got [0, 1, 2, 3, 4, 5, ...]",
        ),
        (
            "pipeline spec params",
            f"name: big\nparams: {BIG_LIST}\nsteps: {{}}\n",
            "'params' must be a mapping, got [0, 1, 2, 3, 4, 5, ...]",
        ),
        (
            "HPO search space",
            f"family: logistic_regression\nmetric: roc_auc\nbudget: {{max_trials: 2}}\n"
            f"space: {BIG_LIST}\n",
            "search space is [0, 1, 2, 3, 4, 5, ...]",
        ),
    ],
)
def test_large_values_are_quoted_truncated_in_errors(
    tmp_path: Path, reader: str, document: str, expected: str
) -> None:
    from falaj.errors import InvalidInputError

    path = tmp_path / "doc.yaml"
    path.write_text(document, encoding="utf-8")
    imports, call, _, _ = READERS[reader]
    namespace: dict[str, object] = {"Path": Path}
    exec(imports, namespace)
    with pytest.raises(InvalidInputError) as info:
        eval(call.format(path=str(path)), namespace)
    assert expected in str(info.value)
    assert len(str(info.value)) < 600
