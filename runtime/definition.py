"""The JSON form of a graph (the seed's format, extended), as pydantic models.

::

    {"name": "review", "entry_point": "extract",
     "nodes": [{"name": "extract", "tool": "extract_functions", "config": {...},
                "timeout": 5, "retry": {"max_attempts": 3}, "on_error": "fix"}],
     "edges": [{"from": "extract", "to": "analyze"},                  # sequential
               {"from": "analyze", "to": "extract", "condition": "score < 70"},
               {"from": "start", "to": ["a", "b", "c"]},              # parallel fan-out
               {"from": ["a", "b", "c"], "to": "join"},              # join
               {"from": "split", "to": "work", "map": "items",       # dynamic map
                "item_key": "item", "max_concurrency": 4}],
     "reducers": {"summaries": "append"}}

The API validates request bodies with these same models.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["MAX_COUNT", "MAX_SECONDS", "CacheDef", "EdgeDef", "GraphDef", "NodeDef",
           "RetryDef", "SubgraphDef"]

#: The largest step, sequence number, offset or count accepted anywhere: what both
#: stores hold in their INTEGER columns (32-bit signed on PostgreSQL).
MAX_COUNT = 2**31 - 1
#: The longest timeout or delay accepted, in seconds (a week).
MAX_SECONDS = 7 * 24 * 3600.0


class RetryDef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_attempts: int = Field(3, ge=1, le=100)
    initial_delay: float = Field(0.1, ge=0, le=MAX_SECONDS)
    # backoff ** 99 must stay a float: 100 ** 99 does, 1e300 ** 2 overflows.
    backoff: float = Field(2.0, ge=1, le=100)
    max_delay: float = Field(10.0, ge=0, le=MAX_SECONDS)
    jitter: bool = True
    retry_on: list[str] | None = None


class SubgraphDef(BaseModel):
    """A graph used as a node: a stored graph by ``graph`` name (and, optionally, the
    ``version`` it must be: its ``sha256:...`` hash), or its whole ``definition``
    inline (what ``to_json`` writes, so a run carries every graph it needs).
    ``inputs`` maps parent keys to the child's (a list: same names), ``outputs`` the
    child's keys to the parent's, merged through the parent's reducers."""

    model_config = ConfigDict(extra="forbid")

    graph: str = Field(min_length=1, max_length=200)
    version: str | None = None
    inputs: dict[str, str] | list[str] = Field(default_factory=dict)
    outputs: dict[str, str] | list[str] = Field(default_factory=dict)
    definition: dict[str, Any] | None = None


class CacheDef(BaseModel):
    """A node's cache: ``ttl`` seconds (None: until replaced), ``key`` a function's
    "module:qualname" (default: the data the node sees)."""

    model_config = ConfigDict(extra="forbid")

    ttl: float | None = Field(None, gt=0)
    key: str | None = None


class NodeDef(BaseModel):
    """One node: a registered ``tool`` or an importable function ``fn`` ("module:qualname")."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    tool: str | None = None
    fn: str | None = None
    description: str = ""
    config: dict[str, Any] = Field(default_factory=dict)
    timeout: float | None = Field(None, gt=0, le=MAX_SECONDS)
    retry: RetryDef | None = None
    concurrency: int | None = Field(None, ge=1, le=MAX_COUNT)
    writes: list[str] = Field(default_factory=list)
    on_error: str | None = None
    interrupt_before: bool = False
    interrupt_after: bool = False
    subgraph: SubgraphDef | None = None
    #: the targets a Command returned by this node may name ("END" for the end)
    goto: list[str] = Field(default_factory=list)
    cache: CacheDef | None = None


class EdgeDef(BaseModel):
    """One edge, or several: ``to`` may list parallel targets, ``from`` may list joined sources."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    source: str | list[str] = Field(alias="from")
    target: str | list[str] = Field(alias="to")
    condition: str | None = None
    condition_fn: str | None = None
    map: str | None = None
    item_key: str = "item"
    max_concurrency: int | None = Field(None, ge=1, le=MAX_COUNT)
    #: a routing function ("module:qualname" or a registered condition name) and the
    #: result of it that takes this edge (default: the target's name)
    router: str | None = None
    when: str | None = None

    @field_validator("source", "target")
    @classmethod
    def _not_empty(cls, v: str | list[str]) -> str | list[str]:
        if isinstance(v, list) and not v:
            raise ValueError("must name at least one node")
        return v


class GraphDef(BaseModel):
    """A whole graph definition."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    nodes: list[NodeDef] = Field(min_length=1)
    edges: list[EdgeDef] = Field(default_factory=list)
    entry_point: str | None = None
    reducers: dict[str, str] = Field(default_factory=dict)
    state_schema: str | None = None
    max_steps: int | None = Field(None, ge=1, le=MAX_COUNT)
