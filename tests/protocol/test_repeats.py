"""The session's repeat budgets on their own."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from poller.protocol._repeats import RepeatBudget


def test_each_step_has_its_own_repeats_and_sign_ons_last_the_session() -> None:
    budget = RepeatBudget(2)
    assert budget.repeat_step()
    assert budget.repeat_step()
    assert not budget.repeat_step()
    assert budget.step_attempts == 3
    budget.new_step()
    assert budget.step_attempts == 1
    assert budget.repeat_step()
    assert budget.repeat_sign_on()
    assert budget.repeat_sign_on()
    budget.new_step()
    assert not budget.repeat_sign_on()  # a new step does not refill the sign-ons
    assert budget.sign_on_attempts == 3
    assert budget.total == 5


def test_no_repeats_means_one_attempt() -> None:
    budget = RepeatBudget(0)
    assert not budget.repeat_step()
    assert not budget.repeat_sign_on()
    assert (budget.step_attempts, budget.sign_on_attempts, budget.total) == (1, 1, 0)


@given(st.integers(0, 5), st.lists(st.sampled_from(["step", "sign-on", "new"]), max_size=40))
def test_total_counts_every_repeat_spent_and_no_budget_is_overspent(
    max_repeats: int, calls: list[str]
) -> None:
    budget = RepeatBudget(max_repeats)
    spent = 0
    for call in calls:
        if call == "new":
            budget.new_step()
        elif call == "step":
            spent += budget.repeat_step()
        else:
            spent += budget.repeat_sign_on()
        assert budget.step_attempts <= max_repeats + 1
        assert budget.sign_on_attempts <= max_repeats + 1
    assert budget.total == spent
