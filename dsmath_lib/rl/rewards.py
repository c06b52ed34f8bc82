"""Rule-based outcome rewards for RL: 1 when a completion's final answer equals the gold answer, else 0.

    from dsmath_lib.rl.rewards import outcome_rewards
    outcome_rewards(["... so \\\\boxed{7}", "I think 8"], [problem, problem])   # [1.0, 0.0] when the answer is 7

The reward is the evaluation's own grader (dsmath_lib.eval.grading: extract_answer, then is_equiv's numeric,
string and symbolic tiers), so the reward the policy climbs and the accuracy the notebooks report cannot
drift apart (nanochat's tasks/gsm8k.py does the same). Symbolic comparisons go to grading's persistent
process-wide math-verify workers, started once and reused every RL step.

Departure from the paper: DeepSeekMath-RL's rewards come from a reward model trained on rule-based labels
(§4.1); the laptop scales reward the rule itself, which is what that model is trained to imitate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from dsmath_lib.eval.grading import DEFAULT_TIMEOUT_S, extract_answer, is_equiv
from dsmath_lib.problem import Problem

RewardFn = Callable[[Sequence[str], Sequence[Problem]], list[float]]


def outcome_rewards(completions: Sequence[str], problems: Sequence[Problem],
                    timeout_s: float = DEFAULT_TIMEOUT_S) -> list[float]:
    """r_i = 1.0 if completion i's extracted answer is equivalent to problems[i].answer, else 0.0.

    completions[i] is the text the policy wrote after the prompt (no <|eos|>); problems[i] its question.

    >>> p = Problem("t/0", "t", "2+5?", "2+5=7\\nThe answer is 7.", "7", "numeric")
    >>> outcome_rewards(["2+5=7 so \\\\boxed{7}", "The answer is 8.", ""], [p, p, p])
    [1.0, 0.0, 0.0]
    """
    if len(completions) != len(problems):
        raise ValueError(f"outcome_rewards: {len(completions)} completions but {len(problems)} problems")
    answers = [extract_answer(text, p.answer_kind) for text, p in zip(completions, problems)]
    return [float(is_equiv(a, p.answer, timeout_s)) for a, p in zip(answers, problems)]
