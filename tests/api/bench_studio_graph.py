"""The long run of the Studio's benchmark (tests/bench/studio.py), shared with its test."""

from __future__ import annotations

from typing import Any

__all__ = ["EXECUTIONS", "LOOP"]

EXECUTIONS = 1000

#: A loop that runs ``step`` EXECUTIONS - 1 times and then ``done``: 1,000 executions.
LOOP: dict[str, Any] = {
    "name": "bench_studio_loop", "reducers": {"count": "add"},
    "nodes": [{"name": "step", "tool": "set", "config": {"values": {"count": 1}}},
              {"name": "done", "tool": "set", "config": {"values": {"finished": True}}}],
    "edges": [{"from": "step", "to": "step", "condition": f"count < {EXECUTIONS - 1}"},
              {"from": "step", "to": "done"}],
}
