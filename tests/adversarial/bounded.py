"""Run an attack in a child process under a memory cap and a CPU-time cap.

The child first runs ``setup`` (imports, building inputs), then caps its own address space at
what it uses plus ``extra_memory`` and its CPU time at what it has used plus ``cpu_seconds``, and
runs ``attack``. What ``attack`` assigns to ``result`` is printed as JSON; an exception is
reported by type and message. A child killed by either cap (or by the wall-clock guard, which is
only there so a broken build cannot hang the suite) comes back with ``outcome`` "killed".
CPU time, unlike the wall clock, does not depend on what else the machine is doing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from typing import Any

_CHILD = """
import json, math, resource, sys, traceback
{setup}
def _vm_bytes():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[0]) * resource.getpagesize()
_cap = _vm_bytes() + {extra_memory}
resource.setrlimit(resource.RLIMIT_AS, (_cap, _cap))
_used = resource.getrusage(resource.RUSAGE_SELF)
_cpu = math.ceil(_used.ru_utime + _used.ru_stime) + {cpu_seconds}
resource.setrlimit(resource.RLIMIT_CPU, (_cpu, _cpu + 1))
result = None
try:
{attack}
    out = {{"outcome": "returned", "result": result}}
except MemoryError:
    out = {{"outcome": "killed", "reason": "MemoryError"}}
except RecursionError:
    out = {{"outcome": "raised", "type": "RecursionError", "message": "", "mro": []}}
except BaseException as exc:
    out = {{
        "outcome": "raised",
        "type": type(exc).__name__,
        "message": str(exc),
        "mro": [c.__name__ for c in type(exc).__mro__],
    }}
print("\\n@@RESULT@@" + json.dumps(out, default=str))
"""


@dataclass(frozen=True)
class Outcome:
    outcome: str  # "returned", "raised" or "killed"
    type: str = ""
    message: str = ""
    mro: tuple[str, ...] = ()
    result: Any = None
    stderr: str = ""

    def raised(self, name: str) -> bool:
        return self.outcome == "raised" and name in self.mro


def run_bounded(
    setup: str,
    attack: str,
    *,
    cpu_seconds: int = 1,
    extra_memory: int = 256 * 1024 * 1024,
    guard_seconds: float = 120.0,
    cwd: str | None = None,
) -> Outcome:
    code = _CHILD.format(
        setup=textwrap.dedent(setup),
        attack=textwrap.indent(textwrap.dedent(attack), "    "),
        extra_memory=extra_memory,
        cpu_seconds=cpu_seconds,
    )
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=guard_seconds,
            env=env,
            cwd=cwd,
        )
    except subprocess.TimeoutExpired:
        return Outcome("killed", message="wall-clock guard")
    marker = proc.stdout.rfind("@@RESULT@@")
    if marker < 0:
        return Outcome("killed", message=f"exit {proc.returncode}", stderr=proc.stderr[-2000:])
    data = json.loads(proc.stdout[marker + len("@@RESULT@@") :])
    return Outcome(
        data["outcome"],
        type=data.get("type", ""),
        message=data.get("message", ""),
        mro=tuple(data.get("mro", ())),
        result=data.get("result"),
        stderr=proc.stderr[-2000:],
    )
