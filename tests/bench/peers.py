"""LangGraph measured in the same ``make bench`` as actorflow (issue 10's W3 target is a
fraction of LangGraph's time *in the same run*, so that it holds on any machine).

LangGraph lives in a virtualenv of its own, ``.venv/peers`` (``make bench`` makes it from
``tests/bench/peers-requirements.txt``; ``ACTORFLOW_BENCH_PEERS_PYTHON`` names another
interpreter), and runs in a process of its own (``peer_langgraph.py``), so neither its
dependencies nor its memory touch actorflow's figures. Without it, the figures are left
out with the reason, and the rest of the bench is unchanged.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SCRIPT = HERE / "peer_langgraph.py"
TIMEOUT_S = 300


def interpreter() -> Path:
    """The Python that has LangGraph: ``ACTORFLOW_BENCH_PEERS_PYTHON`` or .venv/peers."""
    named = os.environ.get("ACTORFLOW_BENCH_PEERS_PYTHON")
    return Path(named) if named else REPO / ".venv" / "peers" / "bin" / "python"


def bench(quick: bool) -> dict[str, Any]:
    """LangGraph's W3 (``w3_ms``, ``w3_peak_rss_mib``), or ``{"skipped": why}``."""
    python = interpreter()
    if not python.exists():
        return {"skipped": f"{python} does not exist (`make bench` makes it: pip install -r "
                           "tests/bench/peers-requirements.txt in .venv/peers)"}
    try:
        # -I: not the script's folder first on sys.path (tests/bench/http.py would
        # shadow the standard library's http), nor PYTHONPATH and the user's site.
        proc = subprocess.run([str(python), "-I", str(SCRIPT), "--reps", "1" if quick else "3"],
                              cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT_S,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"skipped": f"{SCRIPT.name} did not finish: {exc}"}
    if proc.returncode:
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        return {"skipped": f"{SCRIPT.name} exited {proc.returncode}: {tail}"}
    try:
        result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:
        return {"skipped": f"{SCRIPT.name} printed no result: {exc}"}
    return result
