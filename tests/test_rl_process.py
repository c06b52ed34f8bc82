"""Tests for dsmath_lib.rl.process: process-supervision advantages against hand-computed groups, the paper's
formula written out token by token, and outcome supervision as the one-step special case."""

import doctest
import math

import pytest
import torch

from dsmath_lib.rl import grpo, process
from dsmath_lib.rl.process import process_advantages

EPS = grpo.STD_EPS


def paper_formula(step_rewards, step_ends, length):
    """A_it = sum over steps j with index(j) >= t of r~_i^index(j) (paper §4.1.3), one token at a time."""
    flat = [r for rs in step_rewards for r in rs]
    mean = sum(flat) / len(flat)
    std = math.sqrt(sum((r - mean) ** 2 for r in flat) / (len(flat) - 1))
    out = torch.zeros(len(step_rewards), length)
    for i, (rewards, ends) in enumerate(zip(step_rewards, step_ends)):
        for t in range(length):
            out[i, t] = sum((r - mean) / (std + EPS) for r, end in zip(rewards, ends) if end - 1 >= t)
    return out


def test_two_outputs_by_hand():
    # rewards {1, 0 | 0}: mean 1/3, unbiased std sqrt(((2/3)^2 + 2 (1/3)^2) / 2) = sqrt(1/3)
    s = math.sqrt(1 / 3) + EPS
    hi, lo = (2 / 3) / s, -(1 / 3) / s  # r~ of the reward 1 and of a reward 0
    adv = process_advantages([[1.0, 0.0], [0.0]], [[2, 3], [2]], length=4)
    expected = torch.tensor([[hi + lo, hi + lo, lo, 0.0],  # tokens 0-1: step 0 and step 1; token 2: step 1
                             [lo, lo, 0.0, 0.0]])  # token 3 / tokens 2-3 lie after the last step: 0
    assert adv.shape == (2, 4) and adv.dtype == torch.float32
    assert torch.allclose(adv, expected, atol=1e-6)


def test_one_step_outputs_by_hand():
    # {2 | 0}: mean 1, std sqrt((1 + 1) / 1) = sqrt(2); a one-step output gets its r~ on every token of the step
    a = 1 / (math.sqrt(2) + EPS)
    adv = process_advantages([[2.0], [0.0]], [[3], [1]], length=4)
    assert torch.allclose(adv, torch.tensor([[a, a, a, 0.0], [-a, 0.0, 0.0, 0.0]]), atol=1e-6)


def test_zero_step_output_adds_nothing_and_gets_zero():
    # the empty output is left out of the mean and std: {1, 0, 1}, mean 2/3, std sqrt(1/3)
    s = math.sqrt(1 / 3) + EPS
    adv = process_advantages([[1.0, 0.0, 1.0], []], [[1, 2, 4], []], length=5)
    expected = torch.tensor([[0.0, -(1 / 3) / s, (1 / 3) / s, (1 / 3) / s, 0.0],  # step 0's to-go sum is 0
                             [0.0] * 5])
    assert torch.allclose(adv, expected, atol=1e-6)
    assert torch.equal(process_advantages([[], []], [[], []], length=3), torch.zeros(2, 3))


def test_all_equal_group_and_single_reward_give_zero():
    assert torch.equal(process_advantages([[0.5, 0.5], [0.5]], [[1, 3], [2]], length=3), torch.zeros(2, 3))
    single = process_advantages([[0.7], []], [[2], []], length=3)  # one reward in the group: std taken as 0
    assert torch.equal(single, torch.zeros(2, 3))


def test_matches_the_papers_formula_on_a_random_group():
    g = torch.Generator().manual_seed(0)
    ends = [[2, 5, 6, 9], [1], [3, 4], [4, 8, 10]]
    rewards = [torch.rand(len(e), generator=g).tolist() for e in ends]
    adv = process_advantages(rewards, ends, length=11)
    assert torch.allclose(adv, paper_formula(rewards, ends, 11), atol=1e-5)
    assert adv[:, 10].abs().sum() == 0  # no output's steps reach token 10


def test_one_step_per_output_is_outcome_supervision():
    # each output one step spanning its completion: the process advantage is the outcome advantage on every token
    rewards, lengths = [1.0, 0.0, 0.0, 1.0, 0.5], [3, 5, 1, 4, 2]
    adv = process_advantages([[r] for r in rewards], [[n] for n in lengths], length=5)
    outcome = grpo.group_advantages(torch.tensor([rewards]))[0]  # (G,)
    mask = torch.tensor([[float(t < n) for t in range(5)] for n in lengths])
    assert torch.allclose(adv, outcome[:, None] * mask, atol=1e-6)


@pytest.mark.parametrize("rewards, ends, length, match", [
    ([[1.0]], [[1], [2]], 3, "1 outputs of step rewards but 2"),
    ([[1.0, 0.0]], [[2]], 3, "2 step rewards but 1 step ends"),
    ([[1.0, 0.0]], [[2, 2]], 3, "strictly increasing"),
    ([[1.0, 0.0]], [[3, 2]], 3, "strictly increasing"),
    ([[1.0]], [[0]], 3, "strictly increasing"),
    ([[1.0]], [[1.5]], 3, "integers"),
    ([[1.0, 0.0]], [[2, 4]], 3, "ends at 4 > length 3"),
])
def test_bad_inputs_are_value_errors(rewards, ends, length, match):
    with pytest.raises(ValueError, match=match):
        process_advantages(rewards, ends, length)


def test_feeds_grpo_loss_as_token_advantages():
    adv = process_advantages([[1.0, 0.0], [0.0]], [[2, 3], [2]], length=4)  # (G, T)
    logp = torch.full((2, 4), -1.0, requires_grad=True)
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0]])
    loss, _ = grpo.grpo_loss(logp, logp.detach(), None, adv, mask, beta=0.0)
    loss.backward()
    assert torch.allclose(logp.grad, -adv * mask / mask.sum(1, keepdim=True) / 2, atol=1e-7)


def test_docstring_examples():
    result = doctest.testmod(process)
    assert result.attempted > 0 and result.failed == 0
