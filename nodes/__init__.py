"""Built-in tools, example workflows and LLM providers.

Importing :mod:`nodes` registers the built-in tools in :data:`runtime.registry`
(see :mod:`nodes.tools`). Servers call :func:`register_all` at start-up to get
the example graphs as well.
"""

from __future__ import annotations

from runtime import Graph

from . import tools as tools  # registers the built-in tools on import

__all__ = ["register_all"]


def register_all() -> list[Graph]:
    """Register every built-in tool (idempotent) and return fresh example graphs.

    Returns:
        ``[code_review, summarization, financial_analysis]`` graphs, ready to
        ``compile()``, save or serve (named ``"code_review"``, ``"summarization"`` and
        ``"financial_analysis"``).
    """
    from .workflows import EXAMPLE_GRAPHS

    tools.register_tools()
    return [build() for build in EXAMPLE_GRAPHS.values()]
