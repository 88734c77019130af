"""Notebook 03's AGENT-mode planner reads the plan from dapr-agents 1.0.9's own prompts, so a
restarted orchestrator gets the same answers (no per-process counter)."""

from __future__ import annotations

import sys

from dapr_agents.agents.orchestrators.llm.prompts import NEXT_STEP_PROMPT, PROGRESS_CHECK_PROMPT
from dapr_agents.agents.orchestrators.llm.schemas import IterablePlanStep, NextStep, ProgressCheckOutput, schemas

from cookbook.paths import APPS

sys.path.insert(0, str(APPS / "n03_team"))
from team_llms import Planner, plan_in_prompt  # noqa: E402

PLAN = [{"step": 1, "description": "Part 1", "status": "completed", "substeps": None},
        {"step": 2, "description": "Part 2", "status": "not_started", "substeps": None},
        {"step": 3, "description": "Part 3", "status": "not_started", "substeps": None}]


def _ask(planner: Planner, prompt: str, fmt: type) -> object:
    return planner.generate([{"role": "system", "content": "x"}, {"role": "user", "content": prompt}], response_format=fmt)


def test_plan_is_read_from_the_real_prompts() -> None:
    nxt = NEXT_STEP_PROMPT.format(task="t", agents="- A\n- B", plan=PLAN, next_step_schema=schemas.next_step)
    progress = PROGRESS_CHECK_PROMPT.format(task="t", plan=PLAN, step=1, substep=None, results="r", progress_check_schema=schemas.progress_check)
    assert plan_in_prompt(nxt) == PLAN and plan_in_prompt(progress) == PLAN


def test_answers_depend_on_the_prompt_only() -> None:
    planner = Planner(["Researcher", "Writer"], steps=3)
    plan = _ask(planner, "plan it", IterablePlanStep)
    assert [s.step for s in plan.objects] == [1, 2, 3] and {s.status for s in plan.objects} == {"not_started"}
    nxt = NEXT_STEP_PROMPT.format(task="t", agents="", plan=PLAN, next_step_schema="")
    for _ in range(2):  # asked twice (a replayed or restarted orchestrator): the same answer
        answer = _ask(planner, nxt, NextStep)
        assert (answer.next_agent, answer.step) == ("Writer", 2)
    done = [dict(s, status="completed") for s in PLAN]
    check = lambda plan: _ask(planner, PROGRESS_CHECK_PROMPT.format(task="t", plan=plan, step=3, substep=None, results="r",  # noqa: E731
                                                                       progress_check_schema=""), ProgressCheckOutput).verdict
    assert check(PLAN) == "continue" and check(done) == "completed"
