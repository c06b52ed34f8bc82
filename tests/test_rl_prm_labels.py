"""Tests for dsmath_lib.rl.prm_labels: steps as lines in tokens (newlines merged into tokens included),
Math-Shepherd hard and soft labels on a toy policy with known success rates and in a small real run, and
the replay mix."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import doctest
import random

import pytest
import torch

from dsmath_lib.chat import ASSISTANT, COT_SUFFIX, chat_prompt
from dsmath_lib.config import ModelConfig
from dsmath_lib.model import build_model
from dsmath_lib.problem import Problem
from dsmath_lib.rl import prm_labels as L
from dsmath_lib.rl.rollout import make_sampler
from dsmath_lib.tokenizer import train_tokenizer


def _problems(n=4):
    return [Problem(f"t/{i}", "t", f"Tom has {i} apples and buys {i + 3} more. How many?",
                    f"Tom starts with {i} apples.\n  He buys {i + 3} more.\n\n{i} + {i + 3} = {2 * i + 3}\n"
                    f"The answer is {2 * i + 3}.", str(2 * i + 3), "numeric") for i in range(n)]


@pytest.fixture(scope="module")
def tok():
    texts = [p.question + "\n" + p.solution for p in _problems(30)]  # "\n  " indentation: a merged newline
    return train_tokenizer(texts, vocab_size=300)


def _solution_ids(tok, problem, text=None):
    """The tokens a policy would have sampled for `text` (default the gold solution), <|eos|> last."""
    return tok(text if text is not None else problem.solution, add_special_tokens=False)["input_ids"] + [
        tok.eos_token_id]


def test_step_ends_of_pieces_hand_cases():
    f = L.step_ends_of_pieces
    assert f(["a", "\n", "b"]) == [2, 3]
    assert f(["a", ".\n", "b", ".\n"]) == [2, 4]  # newline merged with text before it: that token ends the step
    assert f(["a", "\n  ", "b"]) == [2, 3]  # merged with the next line's indentation: still ends the step
    assert f(["a", "\n\n", "\n", "b", "\n", "\n"]) == [2, 6]  # blank lines: no step; the tail joins the last
    assert f(["  ", "\n", "a", "\n", " \t ", "\n", "b", ""]) == [4, 8]  # whitespace-only lines are empty
    assert f(["x\ny\n", "z"]) == [1, 2]  # two lines ended inside one token share a boundary: one step
    assert f(["\n", ""]) == [] and f([]) == []
    assert f(["\ufffd", "\ufffd", "\n"]) == [3]  # a character split over two tokens counts as text


def test_step_ends_with_the_project_tokenizer(tok):
    problem = _problems(5)[4]
    ids = _solution_ids(tok, problem)
    pieces = [tok.decode([t]) for t in ids]
    assert {"\n\n", "\n "} <= set(pieces)  # the BPE merged newlines with each other and with indentation
    ends = L.step_ends(tok, [ids])[0]
    assert len(ends) == 4 and ends[-1] == len(ids)  # four non-empty lines; <|eos|> is in the last step
    for start, end in zip([0, *ends[:-2]], ends[:-1]):  # the first boundary at or after the line's newline:
        assert "\n" in pieces[end - 1]  # the step's last token holds it ...
        before = "".join(pieces[start : end - 1])  # ... and no earlier token of the step ends its text
        assert "\n" not in before[len(before) - len(before.lstrip()):]
    steps = [tok.decode(ids[a:b], skip_special_tokens=True) for a, b in zip([0, *ends[:-1]], ends)]
    assert [s.strip() for s in steps] == [x.strip() for x in problem.solution.splitlines() if x.strip()]
    assert "".join(steps) == problem.solution  # the steps tile the completion
    assert steps[:3] == ["Tom starts with 4 apples.\n ", " He buys 7 more.\n\n", "4 + 7 = 11\n"]
    assert L.step_ends(tok, [ids[:-1], []]) == [ends[:-1] + [len(ids) - 1], []]  # truncated; empty


def test_shepherd_labels_hard_and_soft():
    correct = [[False, False, False], [False, True, False], [True, True, True]]
    assert L.shepherd_labels(correct) == [0.0, 1.0, 1.0]
    assert L.shepherd_labels(correct, estimate="soft") == [0.0, 1 / 3, 1.0]
    with pytest.raises(ValueError, match="estimate"):
        L.shepherd_labels(correct, estimate="mean")
    with pytest.raises(ValueError, match="no completions"):
        L.shepherd_labels([[True], []])


def _toy_policy(success, calls):
    """A fake completer: a continuation of a prefix with j + 1 solution lines is right with probability
    success[j] (random, seeded by the call's seed and the prompt)."""
    def sample(prompts, n, max_new_tokens, temperature, seed):
        calls.append((list(prompts), n, max_new_tokens, temperature, seed))
        outs = []
        for prompt in prompts:
            step = len([x for x in prompt.split(ASSISTANT)[-1].splitlines() if x.strip()]) - 1
            rng = random.Random(f"{seed}/{prompt}")
            outs += [([], "so \\boxed{7}" if rng.random() < success[step] else "so \\boxed{0}") for _ in range(n)]
        return outs
    return sample


def test_label_steps_on_a_toy_policy_with_known_success_rates(tok):
    problem = Problem("toy/0", "toy", "What is 3 + 4?", "", "7", "numeric")
    wrong = "Add the numbers.\nThree plus four.\nCheck it.\nThe answer is 8."  # its own answer is wrong
    right = "Add the numbers.\nThe answer is 7."
    success, calls, n = [0.0, 0.3, 0.9], [], 400
    sample = _toy_policy(success, calls)
    completions = [_solution_ids(tok, problem, wrong), _solution_ids(tok, problem, right)]
    hard = L.label_steps(sample, tok, [problem, problem], completions, n_completions=n, max_new_tokens=5, seed=3)
    soft = L.label_steps(sample, tok, [problem, problem], completions, n_completions=n, max_new_tokens=5, seed=3,
                         estimate="soft")
    prompt = chat_prompt(problem.question, COT_SUFFIX)
    assert calls[0][0] == [prompt + "Add the numbers.\n", prompt + "Add the numbers.\nThree plus four.\n",
                           prompt + "Add the numbers.\nThree plus four.\nCheck it.\n", prompt + "Add the numbers.\n"]
    assert calls[0][1:] == (n, 5, 1.0, 3)  # one call for every prefix, N completions each
    assert hard[0].labels == [0.0, 1.0, 1.0, 0.0]  # any success; the last step is the solution's own answer
    assert hard[1].labels == [0.0, 1.0]
    sigma = (0.3 * 0.7 / n) ** 0.5
    assert soft[0].labels[0] == 0.0 and soft[0].labels[3] == 0.0 and soft[1].labels == [0.0, 1.0]
    assert abs(soft[0].labels[1] - 0.3) < 4 * sigma and abs(soft[0].labels[2] - 0.9) < 4 * sigma
    ex = hard[0]
    assert ex.problem_id == "toy/0" and ex.completion_ids == completions[0]
    assert ex.prompt_ids == tok(prompt)["input_ids"]
    assert ex.step_ends == L.step_ends(tok, completions[:1])[0] and len(ex.labels) == len(ex.step_ends)
    with pytest.raises(ValueError, match="2 problems but 1"):
        L.label_steps(sample, tok, [problem, problem], completions[:1], n_completions=2, max_new_tokens=5)


def test_label_steps_small_real_run(tok):
    model = build_model(ModelConfig(size="smoke", context_length=256), tok, seed=0)
    with torch.no_grad():  # varied continuations (a fresh model's logits are nearly flat)
        for p in model.parameters():
            if p.dim() == 2:
                p.mul_(4)
    sample = make_sampler("sampler", model.eval(), tok)
    problems = _problems(3)
    completions = [_solution_ids(tok, p) for p in problems] + [[tok.eos_token_id]]  # the last has no step
    kw = dict(n_completions=3, max_new_tokens=8, temperature=1.0, seed=0)
    examples = L.label_steps(sample, tok, problems + problems[:1], completions, **kw)
    assert [e.problem_id for e in examples] == [p.id for p in problems]  # the stepless output is dropped
    for e in examples:
        assert len(e.labels) == len(e.step_ends) == 4 and set(e.labels) <= {0.0, 1.0}
        assert e.labels[-1] == 1.0  # the gold solution's own answer is right (the grader)
    parity = lambda texts, probs: [float(len(t) % 2) for t in texts]  # noqa: E731  outcomes with spread
    hard = L.label_steps(sample, tok, problems, completions[:3], reward_fn=parity, **kw)
    soft = L.label_steps(sample, tok, problems, completions[:3], reward_fn=parity, estimate="soft", **kw)
    for h, s in zip(hard, soft):  # the same seeded completions: hard is "soft > 0"
        assert h.labels == [float(x > 0) for x in s.labels]
    assert {x for s in soft for x in s.labels[:-1]} - {0.0, 1.0}  # some step is neither always nor never right
    again = L.label_steps(sample, tok, problems, completions[:3], reward_fn=parity, estimate="soft", **kw)
    assert [e.labels for e in again] == [e.labels for e in soft]  # seeded


def test_replay_mix_takes_the_share_of_history():
    new, history = [f"n{i}" for i in range(7)], [f"h{i}" for i in range(50)]
    mixed = L.replay_mix(new, history, seed=1)
    assert mixed[:7] == new and len(mixed) == 7 + 5  # default share 0.1 of the history
    assert len(set(mixed[7:])) == 5 and set(mixed[7:]) <= set(history)
    assert L.replay_mix(new, history, seed=1) == mixed and L.replay_mix(new, history, seed=2) != mixed
    assert len(L.replay_mix(new, history, share=0.33)) == 7 + 16  # round(16.5) = 16
    assert L.replay_mix(new, history, share=0.0) == new and L.replay_mix(new, [], share=0.5) == new
    assert sorted(L.replay_mix([], history, share=1.0)) == sorted(history)
    with pytest.raises(ValueError, match="share"):
        L.replay_mix(new, history, share=1.5)


def test_docstring_examples():
    result = doctest.testmod(L)
    assert result.attempted > 0 and result.failed == 0
