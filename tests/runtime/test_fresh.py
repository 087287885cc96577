"""A new run's id, first state and record, built without validation when the values
are already what validation makes of them: the same models as validation's, and the
same errors for values it refuses."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import pydantic
import pytest

from runtime import END, Graph, Runtime, RunStatus, WorkflowState
from runtime.fresh import new_run_id, new_run_record, new_state
from runtime.store.base import RunRecord


def test_run_ids_are_version_4_uuids_spelled_as_str_uuid4() -> None:
    ids = [new_run_id() for _ in range(500)]   # several batches of random bytes
    assert len(set(ids)) == len(ids)
    for rid in ids:
        parsed = uuid.UUID(rid)
        assert str(parsed) == rid
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_a_new_state_is_the_model_validation_makes() -> None:
    data, config = {"a": [1, {"b": 2}], "n": None}, {"k": "v"}
    fresh = new_state("wf", "r1", dict(data), dict(config))
    validated = WorkflowState(workflow_id="wf", run_id="r1", data=dict(data),
                              config=dict(config))
    assert type(fresh) is WorkflowState
    assert fresh.model_dump(exclude={"timestamp"}) == validated.model_dump(
        exclude={"timestamp"})
    assert fresh.timestamp.tzinfo is UTC
    assert fresh.model_fields_set == validated.model_fields_set | {"timestamp", "iteration",
                                                                   "errors", "warnings"}
    # Its lists are its own: a run appends to them.
    other = new_state("wf", "r2", {}, {})
    assert fresh.errors is not other.errors and fresh.warnings is not other.warnings


class Key(StrEnum):
    A = "a"


@pytest.mark.parametrize("data", [{1: "x"}, {Key.A: 1}, {("t",): 1}])
def test_keys_that_are_not_plain_str_go_through_validation(data: dict[Any, Any]) -> None:
    try:
        expected: Any = WorkflowState(workflow_id="wf", run_id="r", data=dict(data), config={})
    except pydantic.ValidationError as exc:
        with pytest.raises(pydantic.ValidationError) as got:
            new_state("wf", "r", dict(data), {})
        assert got.value.errors() == exc.errors()
        return
    made = new_state("wf", "r", dict(data), {})
    assert made.data == expected.data
    assert [type(k) for k in made.data] == [type(k) for k in expected.data]


def test_a_run_id_that_is_not_a_str_is_refused_as_before() -> None:
    with pytest.raises(pydantic.ValidationError, match="run_id"):
        new_state("wf", 12, {}, {})   # type: ignore[arg-type]


def _record(**over: Any) -> dict[str, Any]:
    fields: dict[str, Any] = dict(
        id="r1", graph_id=None, graph_name="g", initial_state={"data": {"x": 1}},
        owner="me", parent_run_id=None, options={"timeout": None, "interrupt_before": []},
        thread_id=None, tenant="default", created_at=datetime.now(UTC))
    fields.update(over)
    return fields


def test_a_new_record_is_the_model_validation_makes() -> None:
    fields = _record(parent_run_id="p", thread_id="t", graph_id="gid")
    fresh = new_run_record(**fields)
    validated = RunRecord(status=RunStatus.PENDING, **fields)
    assert type(fresh) is RunRecord
    assert fresh.model_dump(exclude={"updated_at"}) == validated.model_dump(
        exclude={"updated_at"})
    assert fresh.status is RunStatus.PENDING and fresh.updated_at.tzinfo is UTC


@pytest.mark.parametrize("bad", [{"tenant": 7}, {"parent_run_id": 3}, {"thread_id": 1.5},
                                 {"id": None}])
def test_record_fields_of_a_wrong_type_get_validations_error(bad: dict[str, Any]) -> None:
    with pytest.raises(pydantic.ValidationError) as expected:
        RunRecord(status=RunStatus.PENDING, **_record(**bad))
    with pytest.raises(pydantic.ValidationError) as got:
        new_run_record(**_record(**bad))
    assert got.value.errors() == expected.value.errors()


async def test_a_started_run_records_its_input_and_options_as_before() -> None:
    async def node(state: WorkflowState) -> dict[str, Any]:
        return {"y": state.data["x"] + 1}

    graph = Graph("fresh").add_node("n", node).add_edge("n", END).compile()
    async with Runtime() as rt:
        run = await rt.start(graph, {"x": 1}, config={"c": 2}, timeout=30, tenant="t1",
                             interrupt_after=[])
        assert (await run.result()).data == {"x": 1, "y": 2}
        record = await rt.store.get_run(run.id)
        assert record is not None
        assert record.initial_state["data"] == {"x": 1}
        assert record.initial_state["config"] == {"c": 2}
        assert record.options["timeout"] == 30 and record.tenant == "t1"
        assert record.status is RunStatus.COMPLETED and record.final_state is not None
        assert uuid.UUID(run.id).version == 4


async def test_a_start_with_a_non_str_input_key_fails_as_before() -> None:
    async def node(state: WorkflowState) -> None:
        return None

    graph = Graph("fresh_bad").add_node("n", node).add_edge("n", END).compile()
    async with Runtime() as rt:
        with pytest.raises(pydantic.ValidationError, match="data"):
            await rt.start(graph, {1: "x"})   # type: ignore[dict-item]
        assert rt.runs() == []
