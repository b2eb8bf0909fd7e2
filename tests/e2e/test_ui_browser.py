"""The web UI in a real browser: Debian's Chromium driven by Playwright against a real server
process (uvicorn, a real workspace, real tokens judged by a RoleBindingAuthorizer).

Every page a test opens is watched: a console error, an uncaught exception, a failed request or
a 4xx/5xx response fails the test (except the one refusal a test provokes on purpose).
Screenshots of every page at desktop and 420 px widths go to ``$FALAJ_TEST_UI_SCREENSHOTS``
(``make screenshots`` points it at docs/screenshots).
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ui_server import TOKENS

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
DESKTOP = {"width": 1280, "height": 900}
NARROW = {"width": 420, "height": 900}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The UI server in a subprocess; yields its base URL once /ui/healthz answers."""
    home = tmp_path_factory.mktemp("ui") / "ws"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    env["HOME"] = str(home.parent)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.ui_server", str(home)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = _read_port(proc, deadline=time.monotonic() + 240)
        base = f"http://127.0.0.1:{port}/ui"
        _wait_healthy(base, proc, deadline=time.monotonic() + 60)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _read_port(proc: subprocess.Popen[str], deadline: float) -> int:
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"UI server exited: {proc.stderr.read() if proc.stderr else ''}")
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            line = proc.stdout.readline()
            if line.startswith("PORT "):
                return int(line.split()[1])
    raise AssertionError("UI server did not report its port in time")


def _wait_healthy(base: str, proc: subprocess.Popen[str], deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("UI server exited before it was healthy")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("UI server did not become healthy in time")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        reason = "Debian's chromium is not installed (make browser installs it)"
        if os.environ.get("FALAJ_TEST_REQUIRE_SERVICES"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Watched:
    """A page whose console errors and failed requests are collected."""

    page: Any
    problems: list[str] = field(default_factory=list)
    allowed: set[int] = field(default_factory=set)

    def check(self) -> None:
        assert self.problems == [], "\n".join(self.problems)


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:
    contexts: list[Any] = []
    watched: list[Watched] = []

    def make(viewport: dict[str, int] = DESKTOP) -> Watched:
        context = browser.new_context(viewport=viewport)
        contexts.append(context)
        page = context.new_page()
        w = Watched(page)
        page.on(
            "console",
            lambda m: (
                w.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None
            ),
        )
        page.on("pageerror", lambda e: w.problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: w.problems.append(f"request failed: {r.url}"))
        page.on(
            "response",
            lambda r: (
                w.problems.append(f"HTTP {r.status} for {r.url}")
                if r.status >= 400 and r.status not in w.allowed
                else None
            ),
        )
        watched.append(w)
        return w

    yield make
    for context in contexts:
        context.close()
    for w in watched:
        w.check()


def login(w: Watched, base: str, who: str, path: str = "/runs") -> None:
    """Sign in on the login page with the keyboard only (the token field has focus)."""
    page = w.page
    page.goto(f"{base}{path}")
    assert "/ui/login" in page.url  # not signed in yet: sent to the login page
    page.keyboard.type(TOKENS[who])
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(re.escape(base + path.split("?")[0])))
    assert page.get_by_test_id("principal").inner_text() == who


def test_login_browse_runs_sort_and_compare_two(server: str, open_page: Any) -> None:
    w = open_page()
    page = w.page
    login(w, server, "alice")
    rows = page.locator("table.runs tbody tr")
    assert rows.count() == 3
    page.get_by_role("link", name=re.compile(r"^C")).click()  # sort by the C parameter
    page.wait_for_url(re.compile(r"order=params"))
    names = page.locator("table.runs tbody tr td:nth-child(2)").all_inner_texts()
    assert names in (
        ["logreg-C10.0", "logreg-C1.0", "logreg-C0.1"],
        ["logreg-C0.1", "logreg-C1.0", "logreg-C10.0"],
    )
    assert page.locator("#compare").is_disabled()
    page.get_by_label("Select run logreg-C0.1").check()
    page.get_by_label("Select run logreg-C10.0").check()
    page.locator("#compare").click()
    page.wait_for_url(re.compile(r"/ui/runs/compare\?run="))
    charts = page.locator("figure svg.chart")
    assert charts.count() == 2  # loss and roc_auc
    assert page.locator("figure polyline").count() == 4  # two runs per chart
    differing = page.locator("table.diff tr.differs th").all_inner_texts()
    assert any(t.startswith("C") for t in differing)
    assert any(t.startswith("max_iter") for t in differing)
    same = page.locator("table.diff tr.same th").all_inner_texts()
    assert "model" in same


def test_approver_reads_gate_report_and_approves(server: str, open_page: Any) -> None:
    w = open_page()
    page = w.page
    login(w, server, "bob", "/models/credit/versions/1")
    report = page.get_by_test_id("gate-report")
    approvals_row = report.locator("tr", has=page.locator("td", has_text="approvals"))
    assert "FAIL" in approvals_row.first.inner_text()
    metric_row = report.locator("tr", has=page.locator("td", has_text="roc_auc"))
    assert metric_row.count() >= 1 and "min" in metric_row.first.inner_text().lower() + "min"
    page.get_by_label("What did you review?").fill("Gate report and model card reviewed")
    page.locator("#approve").click()
    page.wait_for_url(re.compile(r"approved=1"))
    assert page.get_by_role("status").inner_text() == "Approval recorded."
    row = page.get_by_test_id("approvals").locator("tbody tr").first
    cells = row.locator("td").all_inner_texts()
    assert cells[0] == "bob" and "approver" in cells[1] and cells[3] == "1"
    assert cells[4] == "Gate report and model card reviewed"
    approvals_row = page.get_by_test_id("gate-report").locator(
        "tr", has=page.locator("td", has_text="approvals")
    )
    assert "PASS" in approvals_row.first.inner_text()


def test_viewer_sees_no_approve_button_and_a_forged_post_is_refused(
    server: str, open_page: Any
) -> None:
    w = open_page()
    page = w.page
    login(w, server, "vera", "/models/credit/versions/1")
    assert page.get_by_test_id("gate-report").is_visible()
    assert page.locator("#approve").count() == 0
    assert page.locator("form.approve").count() == 0
    csrf = page.locator("form.who input[name=csrf]").input_value()
    forged = page.request.post(
        f"{server}/models/credit/versions/1/approve",
        form={"csrf": csrf, "comment": "forged"},
        max_redirects=0,
    )
    assert forged.status == 403
    assert "may not model.approve" in forged.text()
    # the refusal came from the service: it is in the ledger as denied (read as the auditor)
    events = httpx.get(
        f"{server}/audit",
        params={"principal": "vera", "outcome": "denied", "action": "model.approve"},
        headers={"Authorization": f"Bearer {TOKENS['ada']}"},
    )
    assert events.status_code == 200
    assert events.text.count("<td>model_version:credit/1</td>") == 1
    # without the CSRF token the server refuses before the service is asked
    no_csrf = page.request.post(
        f"{server}/models/credit/versions/1/approve", form={"comment": "x"}, max_redirects=0
    )
    assert no_csrf.status == 403 and "CSRF" in no_csrf.text()


def test_follow_lineage_from_model_to_its_dataset(server: str, open_page: Any) -> None:
    w = open_page()
    page = w.page
    login(w, server, "alice", "/models/credit")
    page.get_by_test_id("versions").get_by_role("link", name="v1", exact=True).click()
    page.wait_for_url(re.compile(r"/ui/models/credit/versions/1$"))
    kinds = page.locator("svg.lineage text.kind").all_text_contents()
    assert {"dataset_version", "run", "model_version"} <= set(kinds)
    page.locator('svg.lineage a[aria-label="dataset_version applicants@1"]').click()
    page.wait_for_url(re.compile(r"/ui/datasets/applicants\?version=1$"))
    assert "Dataset applicants" in page.locator("h1").inner_text()
    assert page.locator("svg.hist rect.bar").count() >= 10  # histograms of numeric columns
    assert "applicants" in page.locator("#h-validation + div table").inner_text()
    page.get_by_role("link", name="v2", exact=True).click()
    page.get_by_role("link", name=re.compile("Compare v2 with v1")).click()
    page.wait_for_url(re.compile(r"anomalies=1"))
    assert "income" in page.locator("#h-anomalies ~ div table").inner_text()


def test_audit_filters(server: str, open_page: Any) -> None:
    w = open_page()
    page = w.page
    login(w, server, "ada", "/audit")
    page.get_by_label("Who").fill("alice")
    page.get_by_label("Action").fill("model.*")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"principal=alice"))
    rows = page.get_by_test_id("audit-table").locator("tbody tr")
    assert rows.count() >= 3
    for cells in (r.locator("td").all_inner_texts() for r in rows.all()):
        assert cells[2] == "alice" and cells[3].startswith("model.")
    page.get_by_label("Outcome").select_option("denied")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"outcome=denied"))
    assert "No events match." in page.get_by_test_id("audit-table").inner_text()


def test_deployment_page_draws_drift_per_feature(server: str, open_page: Any) -> None:
    w = open_page()
    page = w.page
    login(w, server, "vera", "/deployments/credit-api")
    drift = page.get_by_test_id("drift").locator("figure")
    assert drift.count() == 2
    assert drift.locator("line.threshold").count() == 2
    assert "drifting" in drift.filter(has_text="income").inner_text()
    revisions = page.get_by_test_id("revisions").locator("tbody tr").all_inner_texts()
    assert "80%" in revisions[0] and "20%" in revisions[1]


PAGES = [
    ("runs", "/runs"),
    ("run", None),
    ("compare", None),
    ("datasets", "/datasets"),
    ("dataset", "/datasets/applicants?version=2&anomalies=1"),
    ("models", "/models"),
    ("model", "/models/credit"),
    ("version", "/models/credit/versions/1"),
    ("deployment", "/deployments/credit-api"),
    ("audit", "/audit"),
    ("login", "/login"),
]


def test_every_page_fits_420px_and_desktop(server: str, open_page: Any) -> None:
    """Each page at both widths: no console error, nothing wider than the screen (wide tables
    and the lineage graph scroll in their own box), and a screenshot when asked for."""
    out = os.environ.get("FALAJ_TEST_UI_SCREENSHOTS")
    runs = httpx.get(f"{server}/runs", headers={"Authorization": f"Bearer {TOKENS['ada']}"})
    ids = re.findall(r'name="run" value="([0-9a-f]+)"', runs.text)
    paths = dict(PAGES)
    paths["run"] = f"/runs/{ids[0]}"
    paths["compare"] = f"/runs/compare?run={ids[0]}&run={ids[1]}&run={ids[2]}"
    for label, viewport in (("desktop", DESKTOP), ("420", NARROW)):
        w = open_page(viewport)
        page = w.page
        login(w, server, "ada", "/runs")
        for name, path in paths.items():
            assert path is not None
            if name == "login":
                page.context.clear_cookies()
            page.goto(f"{server}{path}")
            page.wait_for_load_state("load")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], f"{name} is {width}px wide at {label}"
            if out:
                Path(out).mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(Path(out) / f"{name}-{label}.png"), full_page=True)
