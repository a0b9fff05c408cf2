"""The rules of a visit's steps (app/domain/visits.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.domain import visits as v
from app.domain.errors import DomainError

S = v.StepStatus


def plan(*statuses: str) -> v.Plan:
    """Steps 1..n of services 10, 20, 30... (agencies 1, 2, 3...) with these statuses."""
    return tuple(v.Step(i + 1, i + 1, (i + 1) * 10, i + 1, S(st)) for i, st in enumerate(statuses))


def statuses(p: v.Plan) -> list[str]:
    return [s.status.value for s in sorted(p, key=lambda s: s.position)]


def test_new_plan_first_current_rest_pending() -> None:
    p = v.new_plan([(1, 1), (2, 2), (3, 2)])
    assert statuses(p) == ["current", "pending", "pending"]
    assert [s.position for s in p] == [1, 2, 3]


@pytest.mark.parametrize(("ids", "code"), [([1, 2, 1], "duplicate_step"),
                                           (list(range(1, 8)), "too_many_steps")])
def test_new_plan_refuses(ids: list[int], code: str) -> None:
    with pytest.raises(DomainError) as err:
        v.new_plan([(i, 1) for i in ids])
    assert err.value.code == code


def test_six_steps_allowed() -> None:
    assert len(v.new_plan([(i, 1) for i in range(1, 7)])) == v.MAX_STEPS


def test_finish_moves_to_first_pending() -> None:
    out = v.on_finish(plan("done", "current", "pending", "pending"))
    assert statuses(out.plan) == ["done", "done", "current", "pending"]
    assert out.moved_to is not None and out.moved_to.service_id == 30


def test_finish_last_step_ends_visit() -> None:
    out = v.on_finish(plan("done", "current"))
    assert statuses(out.plan) == ["done", "done"]
    assert out.moved_to is None


def test_no_show_keeps_later_steps() -> None:
    out = v.on_no_show(plan("current", "pending", "pending"), cancel_rest=False)
    assert statuses(out.plan) == ["no_show", "current", "pending"]
    assert out.moved_to is not None and out.moved_to.position == 2


def test_no_show_may_cancel_later_steps() -> None:
    out = v.on_no_show(plan("current", "pending", "pending"), cancel_rest=True)
    assert statuses(out.plan) == ["no_show", "cancelled", "cancelled"]
    assert out.moved_to is None


def test_finish_skips_cancelled() -> None:
    out = v.on_finish(plan("current", "cancelled", "pending"))
    assert statuses(out.plan) == ["done", "cancelled", "current"]


def test_close_out_closes_every_open_step() -> None:
    assert statuses(v.on_close_out(plan("done", "current", "pending"))) == [
        "done", "closed_out", "closed_out"]


def test_cancel_cancels_open_steps() -> None:
    assert statuses(v.on_cancel(plan("done", "current", "pending"))) == [
        "done", "cancelled", "cancelled"]


def test_transfer_replaces_current_and_drops_pending_duplicate() -> None:
    out = v.on_transfer(plan("current", "pending", "pending"), service_id=30, agency_id=3)
    assert [(s.service_id, s.status.value, s.position) for s in out] == [
        (10, "transferred", 1), (30, "current", 2), (20, "pending", 3)]
    assert out[1].id is None


def test_add_step_at_end() -> None:
    out = v.add_step(plan("current", "pending"), service_id=99, agency_id=9)
    assert (out[-1].service_id, out[-1].position, out[-1].status) == (99, 3, S.PENDING)


@pytest.mark.parametrize(("p", "sid", "code"), [
    (plan("current", "pending"), 20, "duplicate_step"),
    (plan("current", "pending"), 10, "duplicate_step"),
    (plan("done", "done"), 99, "visit_over"),
    (plan("done", "done", "done", "done", "done", "current"), 99, "too_many_steps"),
])
def test_add_step_refuses(p: v.Plan, sid: int, code: str) -> None:
    with pytest.raises(DomainError) as err:
        v.add_step(p, service_id=sid, agency_id=1)
    assert err.value.code == code


def test_add_step_again_after_done_is_allowed() -> None:
    out = v.add_step(plan("done", "current"), service_id=10, agency_id=1)
    assert out[-1].service_id == 10


def test_drop_pending_step() -> None:
    out, dropped = v.drop_step(plan("current", "pending", "pending"), 2)
    assert dropped.status == S.CANCELLED
    assert [(s.id, s.position, s.status.value) for s in out] == [
        (1, 1, "current"), (3, 2, "pending"), (2, 3, "cancelled")]


@pytest.mark.parametrize("step_id", [1, 2])
def test_drop_refuses_started_steps(step_id: int) -> None:
    with pytest.raises(DomainError) as err:
        v.drop_step(plan("done", "current", "pending"), step_id)
    assert err.value.code == "step_not_pending"


def test_reorder_pending_steps() -> None:
    out = v.reorder(plan("done", "current", "pending", "pending", "pending"), [5, 3, 4])
    assert [(s.id, s.position) for s in out] == [(1, 1), (2, 2), (5, 3), (3, 4), (4, 5)]


@pytest.mark.parametrize("order", [[3], [3, 4, 4], [2, 3, 4], [3, 4, 99]])
def test_reorder_must_name_every_pending_step_once(order: list[int]) -> None:
    with pytest.raises(DomainError) as err:
        v.reorder(plan("done", "current", "pending", "pending"), order)
    assert err.value.code == "invalid_step_order"


def test_public_status() -> None:
    p = plan("current", "pending")
    assert v.public_status(p[0], "called") == "called"
    assert v.public_status(p[1], "called") == "pending"


def test_requeue_sort_at() -> None:
    t0 = datetime(2026, 12, 1, 1, tzinfo=UTC)
    t1 = t0 + timedelta(hours=1)
    assert v.requeue_sort_at("original", original=t0, now=t1) == t0
    assert v.requeue_sort_at("back", original=t0, now=t1) == t1
    with pytest.raises(ValueError):
        v.requeue_sort_at("sideways", original=t0, now=t1)


def test_visit_times() -> None:
    t0 = datetime(2026, 12, 1, 1, tzinfo=UTC)
    m = timedelta(minutes=1)
    steps = [v.StepTimes(t0, t0 + 5 * m, t0 + 15 * m), v.StepTimes(t0 + 15 * m, t0 + 25 * m,
                                                                   t0 + 40 * m)]
    assert v.visit_minutes(t0, steps) == 40
    assert v.gaps_minutes(steps) == [10]
    assert v.visit_minutes(t0, [*steps, v.StepTimes(t0 + 40 * m, None, None)]) is None


def test_plan_editors_current_and_last_ended() -> None:
    assert v.plan_editors(plan("done", "current", "pending")) == {1, 2}
    assert v.plan_editors(plan("current", "pending")) == {1}
    assert v.plan_editors(plan("done", "no_show", "current")) == {2, 3}
