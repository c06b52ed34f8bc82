"""Process-supervision advantages (paper §4.1.3): a PRM's step rewards become one advantage per token.

    from dsmath_lib.rl.process import process_advantages
    adv = process_advantages(step_rewards, step_ends, length=T)          # one group of G outputs -> (G, T)
    loss, stats = grpo_loss(logp, old_logp, ref_logp, adv, mask)         # grpo_loss takes (N, T) advantages

For output o_i with K_i steps the process reward model scores each step: r_i^index(1), ..., r_i^index(K_i),
index(j) the end token of step j. All the group's step rewards R are normalised together,
r~ = (r - mean(R)) / std(R), and a token's advantage is the sum of the normalised rewards of its own step
and every later step: A_it = sum over j with index(j) >= t of r~_i^index(j).

Called once per group (the normalisation is within a group); for B questions, call it B times and
`torch.cat` the (G, T) blocks in the rollout's row order. Step boundaries are given as completion-token
indices, exclusive: `step_ends[i][j]` is one past the last token of step j, so index(j) = step_ends[i][j] - 1
and "index(j) >= t" is "t < step_ends[i][j]".

Conventions (shared with rl.grpo.group_advantages, so outcome and process supervision differ only in what
they normalise): std is the unbiased group std and STD_EPS = 1e-4 is added to it, so an all-equal group has
advantages exactly 0. A group with a single step reward has no spread: its std is taken as 0 (not NaN),
so that reward normalises to 0. An output with zero steps is allowed (a PRM that found no step): it adds
nothing to the mean and std and all its tokens get 0.

Departures from the paper: tokens after the last step's end (e.g. a trailing <|eos|> the splitter did not
assign to a step) get advantage 0, where the paper implies every token lies in some step; splitting text
into steps and the PRM itself live with the caller.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from dsmath_lib.rl.grpo import STD_EPS


def process_advantages(step_rewards: Sequence[Sequence[float]], step_ends: Sequence[Sequence[int]],
                       length: int) -> torch.Tensor:
    """A_it = sum of the group-normalised step rewards of token t's step and all later steps of output i.

    step_rewards: G sequences, step_rewards[i][j] the PRM's reward for step j of output i.
    step_ends: G sequences of the same lengths, step_ends[i][j] the exclusive end (completion-token index)
        of step j; strictly increasing, the first >= 1, the last <= length. Step j covers
        [step_ends[i][j-1], step_ends[i][j]) with step_ends[i][-1] taken as 0.
    length: T, the completion width of the returned tensor. Returns (G, T) float32.

    >>> process_advantages([[1.0, 0.0], [0.0]], [[2, 3], [2]], length=4)
    tensor([[ 0.5773,  0.5773, -0.5773,  0.0000],
            [-0.5773, -0.5773,  0.0000,  0.0000]])
    """
    _check(step_rewards, step_ends, length)
    flat = torch.tensor([float(r) for rs in step_rewards for r in rs])  # (sum_i K_i,) every step of the group
    mean = flat.mean() if flat.numel() else flat.new_zeros(())
    std = flat.std() if flat.numel() > 1 else flat.new_zeros(())  # unbiased; one reward: no spread, not NaN
    adv = torch.zeros(len(step_rewards), length)  # (G, T)
    for i, (rewards, ends) in enumerate(zip(step_rewards, step_ends)):
        if not ends:
            continue
        ends = [int(e) for e in ends]
        normed = (torch.tensor([float(r) for r in rewards]) - mean) / (std + STD_EPS)  # (K_i,)
        to_go = normed.flip(0).cumsum(0).flip(0)  # (K_i,) sum over steps j' >= j
        widths = torch.diff(torch.tensor([0, *ends]))  # (K_i,) tokens in each step
        adv[i, : ends[-1]] = to_go.repeat_interleave(widths)
    return adv


def _check(step_rewards, step_ends, length: int) -> None:
    """ValueError on inputs that cannot describe G outputs of `length` completion tokens split into steps."""
    if len(step_rewards) != len(step_ends):
        raise ValueError(f"process_advantages: {len(step_rewards)} outputs of step rewards but "
                         f"{len(step_ends)} of step ends")
    for i, (rewards, ends) in enumerate(zip(step_rewards, step_ends)):
        if len(rewards) != len(ends):
            raise ValueError(f"process_advantages: output {i} has {len(rewards)} step rewards but "
                             f"{len(ends)} step ends")
        previous = 0
        for end in ends:
            if int(end) != end or end <= previous:
                raise ValueError(f"process_advantages: output {i}'s step ends {list(ends)} must be integers, "
                                 "strictly increasing from >= 1 (every step holds a token)")
            previous = end
        if ends and ends[-1] > length:
            raise ValueError(f"process_advantages: output {i}'s last step ends at {ends[-1]} > length {length}")
