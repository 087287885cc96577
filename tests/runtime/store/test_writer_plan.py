"""How the writer turns a batch of queued ops into one transaction (writer.plan)."""

from __future__ import annotations

from runtime.store.checkpoints import TRUNCATE, UPSERT
from runtime.store.queue import FENCE, NOTIFY_RUN
from runtime.store.writer import Op, plan


def test_a_runs_lease_check_and_notification_run_once_per_commit_not_once_per_step() -> None:
    steps = [Op([(FENCE, {"run_id": "r", "epoch": 3}), (UPSERT, {"step": i}),
                 (NOTIFY_RUN, {"channel": "c", "run_id": "r"})]) for i in range(5)]
    other = Op([(FENCE, {"run_id": "q", "epoch": 1}), (UPSERT, {"step": 0})])
    written = dict(plan([*steps, other]))
    assert written[FENCE] == [{"run_id": "r", "epoch": 3}, {"run_id": "q", "epoch": 1}]
    assert written[NOTIFY_RUN] == [{"channel": "c", "run_id": "r"}]
    assert written[UPSERT] == [{"step": i} for i in range(5)] + [{"step": 0}]


def test_deletions_run_before_the_rows_queued_with_them() -> None:
    delta = Op([(UPSERT, {"run_id": "r", "step": 1})])
    snapshot = Op([(TRUNCATE, {"run_id": "r", "step": 2}), (UPSERT, {"run_id": "r", "step": 2})])
    assert [sql for sql, _ in plan([delta, snapshot])] == [TRUNCATE, UPSERT]
