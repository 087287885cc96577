"""When a checkpoint row is a full snapshot and when a delta.

A snapshot every k steps keeps a chain short but stores the state again every k
steps: for a state that grows by a constant amount per step (a list an ``append``
reducer extends) that is quadratic in the steps (the probe's 100 KB loop filled 6 GB
in 200 steps). Here a snapshot is taken once the deltas written since the last one
hold at least as many bytes as that snapshot did, and never before ``min_deltas``
deltas: every snapshot is then paid for by as many bytes of deltas, so snapshots
take at most about as much room as the deltas themselves, and the total stays
linear in the data added. ``max_deltas`` bounds the rows one rebuild replays (a huge
state that changes by a few bytes a step would otherwise go a long way without a
snapshot).

Rebuilding a step reads one snapshot and at most ``max_deltas`` deltas, whose bytes
exceed the snapshot's by at most one delta once ``min_deltas`` rows are passed: the
replay costs about twice reading the state itself.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Chain", "Spacing"]


@dataclass(slots=True)
class Chain:
    """What a run's checkpoints since its last snapshot took up."""

    snapshot_bytes: int
    delta_bytes: int = 0
    deltas: int = 0

    def after_delta(self, nbytes: int) -> Chain:
        return Chain(self.snapshot_bytes, self.delta_bytes + nbytes, self.deltas + 1)


@dataclass(frozen=True, slots=True)
class Spacing:
    """The rule above. ``min_deltas`` is what ``snapshot_every`` meant before: with
    deltas as large as the state (every key rewritten each step) a snapshot comes
    every ``min_deltas`` steps, as it always did."""

    min_deltas: int = 20
    max_deltas: int = 1000

    def snapshot_due(self, chain: Chain, delta_bytes: int) -> bool:
        """Whether the next row (a delta of ``delta_bytes``) should be a snapshot."""
        n = chain.deltas + 1
        if n >= self.max_deltas:
            return True
        return n >= self.min_deltas and chain.delta_bytes + delta_bytes >= chain.snapshot_bytes
