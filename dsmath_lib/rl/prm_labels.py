"""Math-Shepherd step labels for a process reward model: steps as lines, labels from completions, replay.

    from dsmath_lib.rl.prm_labels import step_ends, label_steps, replay_mix
    ends = step_ends(tokenizer, batch.completion_ids)      # ends[i][j]: exclusive end of step j of output i
    sample = make_sampler("sampler", policy, tokenizer)    # rl.rollout's engine (the "completer")
    examples = label_steps(sample, tokenizer, batch.problems, batch.completion_ids, n_completions=8,
                           max_new_tokens=160, estimate="hard")           # one PRMExample per solution
    train_set = replay_mix(examples, history, share=0.1, seed=round)      # iterative RL, Algorithm 1

Steps. A chain-of-thought solution's steps are its non-empty lines (a line holding only whitespace is
empty). In tokens, a step ends at the first token boundary at or after the newline that ends its line:
the token holding the newline belongs to the step it ends, also when a byte-level BPE has merged the
newline with other characters (ours merges "\\n" with the next line's indentation, "\\n  "; Qwen-style
vocabularies have ".\\n"). The last step runs to the end of the completion, so the tail after its text
(blank lines, the <|eos|> token) is part of it: every sampled token lies in a step and gets a process
advantage, the eos decision included, and the PRM reads the last step after seeing the whole output.
Special tokens are markup, never step text. Two lines ended inside one token would share a boundary:
they are merged into one step (no vocabulary this study uses has such a token).

Labels (Math-Shepherd, arXiv 2312.08935; docs/PAPER.md §5). For step j of a solution, N completions continue
from the prompt plus the solution up to and including step j; the hard estimate is 1 if any of them
reaches the gold answer (graded by rl.rewards.outcome_rewards, the evaluation's grader), the soft
estimate is the share that do. The prefix of the last step is the whole solution, so its label is the
solution's own correctness, with no sampling.

Departures at small scale: N is a caller's number (Math-Shepherd decodes 8 per step); steps are lines,
where Math-Shepherd's data marks steps with a tag; a completion gets `max_new_tokens` new tokens whatever
the prefix's length; solutions without a step (an empty output) are dropped, as they give the PRM nothing
to predict. Replay: Algorithm 1 continues training the reward model on new data "with a replay mechanism
that incorporates 10% of historical data"; `share` is read as that fraction of the historical examples.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from dsmath_lib.chat import COT_SUFFIX, chat_prompt
from dsmath_lib.problem import Problem
from dsmath_lib.rl.rewards import RewardFn, outcome_rewards
from dsmath_lib.rl.rollout import SampleFn

ESTIMATES = ("hard", "soft")  # Math-Shepherd's hard (HE) and soft (SE) estimation


@dataclass
class PRMExample:
    """One labelled solution: the PRM reads prompt + completion and predicts labels[j] at the last token of
    step j, completion index step_ends[j] - 1."""

    problem_id: str
    prompt_ids: list[int]  # (P,) the chat CoT prompt's tokens, <|bos|> first
    completion_ids: list[int]  # (T,) the solution's tokens as sampled
    step_ends: list[int]  # (K,) exclusive end of each step in completion_ids; step_ends[-1] == T
    labels: list[float]  # (K,) hard (0 or 1) or soft (in [0, 1]) estimate of each step


def step_ends_of_pieces(pieces: Sequence[str]) -> list[int]:
    """The exclusive end (a token index) of each non-empty line, for a completion whose tokens decode to
    `pieces` (one string per token, special tokens as ""); the last step runs to len(pieces).

    >>> step_ends_of_pieces(["2", " +", " 5", "\\n", "\\n", "The", " answer", "\\n  ", "7", "."])
    [4, 8, 10]
    >>> step_ends_of_pieces(["a", ".\\n", "b", "\\n", "\\n", ""])   # ".\\n" ends a step; the tail joins the last
    [2, 6]
    >>> step_ends_of_pieces(["\\n", " ", "\\n", ""])                # no text: no step
    []
    """
    ends: list[int] = []
    has_text = False  # the current line holds a non-whitespace character
    for k, piece in enumerate(pieces):
        for ch in piece:
            if ch == "\n":
                if has_text and (not ends or ends[-1] != k + 1):
                    ends.append(k + 1)  # the boundary after the token holding the newline
                has_text = False
            elif not ch.isspace():
                has_text = True
    if has_text:
        ends.append(len(pieces))  # an unterminated last line
    if ends:
        ends[-1] = len(pieces)  # blank lines and <|eos|> after the last step belong to it
    return ends


def step_ends(tokenizer, completions: Sequence[Sequence[int]]) -> list[list[int]]:
    """step_ends_of_pieces of every completion (token ids as sampled), each token decoded alone.

    A newline is one byte, so a token's own decoding holds it exactly when the token does, even where a
    multi-byte character is split across tokens (those pieces decode to U+FFFD, which counts as text).
    """
    vocab = sorted({int(t) for c in completions for t in c})
    text = dict(zip(vocab, tokenizer.batch_decode([[t] for t in vocab], skip_special_tokens=True)))
    return [step_ends_of_pieces([text[int(t)] for t in c]) for c in completions]


def shepherd_labels(correct: Sequence[Sequence[bool]], estimate: str = "hard") -> list[float]:
    """Math-Shepherd's label of each step from whether each of its completions reached the gold answer:
    "hard" = 1.0 if any did, else 0.0; "soft" = the share that did.

    >>> shepherd_labels([[False, False], [False, True], [True, True]])
    [0.0, 1.0, 1.0]
    >>> shepherd_labels([[False, False], [False, True], [True, True]], estimate="soft")
    [0.0, 0.5, 1.0]
    """
    if estimate not in ESTIMATES:
        raise ValueError(f"shepherd_labels: estimate={estimate!r}; choose 'hard' or 'soft'")
    if any(len(c) == 0 for c in correct):
        raise ValueError("shepherd_labels: a step has no completions to estimate its label from")
    if estimate == "hard":
        return [float(any(c)) for c in correct]
    return [sum(map(bool, c)) / len(c) for c in correct]


def label_steps(sample: SampleFn, tokenizer, problems: Sequence[Problem], completions: Sequence[Sequence[int]], *,
                n_completions: int, max_new_tokens: int, temperature: float = 1.0, seed: int = 0,
                estimate: str = "hard", reward_fn: RewardFn = outcome_rewards) -> list[PRMExample]:
    """Label every step of every solution (problems[i]'s sampled completion token ids) Math-Shepherd style.

    `sample` is rl.rollout's SampleFn (make_sampler, or a fake in tests): it continues each prefix
    chat_prompt(question) + decode(solution up to step j) n_completions times, all prefixes in one call.
    Returns one PRMExample per solution that has a step, in input order.
    """
    if len(problems) != len(completions):
        raise ValueError(f"label_steps: {len(problems)} problems but {len(completions)} completions")
    if n_completions < 1:
        raise ValueError(f"label_steps: n_completions={n_completions}; each step needs at least one completion")
    prompts = [chat_prompt(p.question, COT_SUFFIX) for p in problems]  # rl.rollout's prompt
    ends = step_ends(tokenizer, completions)
    jobs = [(i, end) for i, e in enumerate(ends) for end in e[:-1]]  # (solution, prefix end): all but last steps
    prefixes = [tokenizer.decode(list(completions[i][:end])) for i, end in jobs]
    outs = sample([prompts[i] + pre for (i, _), pre in zip(jobs, prefixes)], n_completions, max_new_tokens,
                  temperature, seed) if jobs else []  # (len(jobs) * N,) grouped per prefix
    if len(outs) != len(jobs) * n_completions:
        raise RuntimeError(f"label_steps: the sampler returned {len(outs)} outputs for {len(jobs)} x {n_completions}")
    texts = [prefixes[k // n_completions] + out[1] for k, out in enumerate(outs)]  # the whole solution
    graded = reward_fn(texts, [problems[jobs[k // n_completions][0]] for k in range(len(outs))])
    own = reward_fn([tokenizer.decode(list(c), skip_special_tokens=True) for c in completions], problems)
    correct: list[list[list[bool]]] = [[] for _ in completions]  # correct[i][j]: (N,) bools, step j of solution i
    for k, (i, _) in enumerate(jobs):
        correct[i].append([r > 0 for r in graded[k * n_completions : (k + 1) * n_completions]])
    prompt_ids = tokenizer(prompts)["input_ids"]  # the sampler's own encoding, as in rl.rollout
    return [PRMExample(problems[i].id, prompt_ids[i], list(completions[i]), e,
                       shepherd_labels(correct[i] + [[own[i] > 0]], estimate))  # last step: the solution itself
            for i, e in enumerate(ends) if e]


T = TypeVar("T")


def replay_mix(new: Sequence[T], history: Sequence[T], share: float = 0.1, seed: int = 0) -> list[T]:
    """All of `new` followed by round(share * len(history)) historical examples drawn without replacement
    (paper Algorithm 1: replay of 10% of historical data); the draw depends only on `seed`.

    >>> replay_mix(["n1", "n2"], [f"h{i}" for i in range(10)], share=0.2, seed=0)
    ['n1', 'n2', 'h6', 'h9']
    """
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"replay_mix: share={share} must lie in [0, 1]")
    k = round(share * len(history))
    return list(new) + random.Random(seed).sample(list(history), k)
