"""Tests for dsmath_lib.rl.ppo: GAE, the KL-penalised reward and the two clipped losses against numbers
worked out by hand (the arithmetic is in the comments)."""

import doctest
import math

import pytest
import torch

from dsmath_lib.rl import grpo, ppo
from dsmath_lib.rl.ppo import clipped_value_loss, gae, kl_penalised_rewards, ppo_policy_loss


def prefix_mask(lengths, width):
    return torch.tensor([[1.0 if t < n else 0.0 for t in range(width)] for n in lengths])  # (N, T)


# -------------------------------------------------------------------------------------------------- gae


def test_gae_with_gamma_lam_one_is_reward_to_go_minus_value():
    g = torch.Generator().manual_seed(0)
    lengths, width = [4, 2, 0, 1], 5
    rewards, values = torch.randn(4, width, generator=g), torch.randn(4, width, generator=g)
    mask = prefix_mask(lengths, width)
    adv, returns = gae(rewards, values, mask, gamma=1.0, lam=1.0)
    to_go = (rewards * mask).flip(1).cumsum(1).flip(1)  # (N, T): sum of the real rewards from t on
    assert torch.allclose(adv, (to_go - values) * mask, atol=1e-6)
    assert torch.allclose(returns, to_go * mask, atol=1e-6)
    assert torch.equal(adv[2], torch.zeros(width)) and torch.equal(returns[2], torch.zeros(width))  # empty row


def test_gae_one_token_sequence():
    # delta = r + gamma * 0 - V = 2 - 0.5: the value after the last token is 0, whatever gamma and lambda
    adv, returns = gae(torch.tensor([[2.0, 9.0]]), torch.tensor([[0.5, 9.0]]), torch.tensor([[1, 0]]),
                       gamma=0.5, lam=0.9)
    assert torch.allclose(adv, torch.tensor([[1.5, 0.0]])) and torch.allclose(returns, torch.tensor([[2.0, 0.0]]))


def test_gae_gamma_half_lam_point_nine_by_hand():
    rewards = torch.tensor([[0.0, 0.0, 1.0, 5.0]])  # the 5 and the 7 sit on padding and must be ignored
    values = torch.tensor([[0.2, 0.4, 0.6, 7.0]])
    # delta_2 = 1 + 0.5 * 0 - 0.6 = 0.4;     A_2 = 0.4
    # delta_1 = 0 + 0.5 * 0.6 - 0.4 = -0.1;  A_1 = -0.1 + 0.5 * 0.9 * 0.4 = 0.08
    # delta_0 = 0 + 0.5 * 0.4 - 0.2 = 0.0;   A_0 = 0.0 + 0.45 * 0.08 = 0.036
    adv, returns = gae(rewards, values, torch.tensor([[1, 1, 1, 0]]), gamma=0.5, lam=0.9)
    assert torch.allclose(adv, torch.tensor([[0.036, 0.08, 0.4, 0.0]]), atol=1e-6)
    assert torch.allclose(returns, torch.tensor([[0.236, 0.48, 1.0, 0.0]]), atol=1e-6)


def test_gae_lambda_limits():
    g = torch.Generator().manual_seed(1)
    rewards, values, mask = torch.randn(3, 6, generator=g), torch.randn(3, 6, generator=g), prefix_mask([6, 3, 5], 6)
    v_next = torch.cat([values[:, 1:] * mask[:, 1:], torch.zeros(3, 1)], 1)  # (N, T): 0 past the last token
    td, _ = gae(rewards, values, mask, gamma=0.5, lam=0.0)  # lambda = 0: the one-step TD residual
    assert torch.allclose(td, (rewards + 0.5 * v_next - values) * mask, atol=1e-6)
    mc, _ = gae(rewards, values, mask, gamma=0.5, lam=1.0)  # lambda = 1: discounted return minus V
    disc = torch.zeros(3, 6)
    for t in reversed(range(6)):
        disc[:, t] = rewards[:, t] * mask[:, t] + 0.5 * (disc[:, t + 1] if t < 5 else 0)
    assert torch.allclose(mc, (disc - values) * mask, atol=1e-5)


@pytest.mark.parametrize("mask, match", [
    (torch.tensor([[1, 0, 1]]), "prefix"),  # a hole: not right padding
    (torch.tensor([[0, 1, 1]]), "prefix"),  # left padding
    (torch.tensor([[1, 2, 0]]), "0/1"),
    (torch.tensor([[1, 1]]), "differ in shape"),
])
def test_gae_rejects_bad_masks(mask, match):
    with pytest.raises(ValueError, match=match):
        gae(torch.zeros(1, 3), torch.zeros(1, 3), mask, gamma=1.0, lam=1.0)
    with pytest.raises(ValueError, match="values"):
        gae(torch.zeros(1, 3), torch.zeros(1, 2), torch.ones(1, 3), gamma=1.0, lam=1.0)


# ------------------------------------------------------------------------------------ the PPO reward


def test_kl_penalised_rewards_by_hand():
    score = torch.tensor([1.0, 0.0, 5.0])
    logp = torch.tensor([[-1.0, -2.0, -0.5], [-1.0, -1.0, -1.0], [-1.0, -1.0, -1.0]])
    ref = torch.tensor([[-1.5, -1.0, -0.5], [-0.5, -3.0, -1.0], [-1.0, -1.0, -1.0]])
    mask = prefix_mask([3, 2, 0], 3)
    rewards = kl_penalised_rewards(score, logp, ref, mask, beta=0.1)
    expected = torch.tensor([[-0.1 * 0.5, -0.1 * -1.0, 1.0],  # score on the last real token, where log pi = log pi_ref
                             [-0.1 * -0.5, -0.1 * 2.0 + 0.0, 0.0],  # a 0 score; the KL penalty still applies
                             [0.0, 0.0, 0.0]])  # no real token: the score has nowhere to go
    assert torch.allclose(rewards, expected, atol=1e-7)
    assert not rewards.requires_grad
    total = score[:2] - 0.1 * ((logp - ref) * mask).sum(1)[:2]  # the summed reward: r_phi - beta sum_t log(pi/pi_ref)
    assert torch.allclose(rewards.sum(1)[:2], total, atol=1e-7)


# ------------------------------------------------------------------------------------------- losses


def test_clipped_value_loss_by_hand():
    values = torch.tensor([[1.0, 0.5], [9.0, 9.0]], requires_grad=True)
    old = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    returns = torch.tensor([[2.0, 0.0], [0.0, 0.0]])
    mask = torch.tensor([[1, 1], [0, 0]])  # the second row is padding: its large errors must not count
    # token 0: V 1 clips to 0.2; max((1 - 2)^2, (0.2 - 2)^2) = 3.24 (the clipped error is the larger)
    # token 1: V 0.5 clips to 0.2; max(0.5^2, 0.2^2) = 0.25;  mean of 0.5 * (3.24, 0.25) = 0.8725
    loss = clipped_value_loss(values, old, returns, mask, clip=0.2)
    assert float(loss.detach()) == pytest.approx(0.8725)
    loss.backward()
    # token 0's loss is the clipped branch, flat in V; token 1's is 0.5 (V - R)^2 / 2 tokens -> (0.5 - 0) / 2
    assert torch.allclose(values.grad, torch.tensor([[0.0, 0.25], [0.0, 0.0]]))


def test_ppo_policy_loss_by_hand():
    adv = torch.tensor([[1.0, -1.0], [2.0, 0.0]])
    old = torch.zeros(2, 2)
    logp = torch.log(torch.tensor([[1.5, 0.5], [1.1, 1.0]]))  # ratios, since log pi_old = 0
    mask = torch.tensor([[1, 1], [1, 0]])
    # row 0: min(1.5 * 1, 1.2 * 1) = 1.2; min(0.5 * -1, 0.8 * -1) = -0.8; mean over 2 tokens 0.2
    # row 1: min(1.1 * 2, 1.1 * 2) = 2.2 over 1 token; J = (0.2 + 2.2) / 2 = 1.2
    loss, stats = ppo_policy_loss(logp, old, adv, mask, clip_eps=0.2)
    assert float(loss) == pytest.approx(-1.2)
    assert stats["clip_high"] == pytest.approx(1 / 3) and stats["clip_low"] == pytest.approx(1 / 3)
    assert "kl" not in stats and stats["tokens"] == 3.0


def test_ppo_policy_loss_on_policy_gradient_and_grpo_agreement():
    g = torch.Generator().manual_seed(2)
    lengths = [5, 2, 4]
    mask, adv = prefix_mask(lengths, 5), torch.randn(3, 5, generator=g)
    logp = (-torch.rand(3, 5, generator=g) * 3).requires_grad_(True)
    loss, _ = ppo_policy_loss(logp, logp.detach(), adv, mask)
    loss.backward()
    n = torch.tensor(lengths, dtype=torch.float32)[:, None]
    assert torch.allclose(logp.grad, -adv * mask / n / 3, atol=1e-7)  # -A_t / |o| / N: GC_PPO = A_t
    old = logp.detach() + 0.3 * torch.randn(3, 5, generator=g)
    ours, _ = ppo_policy_loss(logp, old, adv, mask, clip_eps=0.1)
    theirs, _ = grpo.grpo_loss(logp, old, None, adv, mask, clip_eps=0.1, beta=0.0)
    assert float(ours.detach()) == pytest.approx(float(theirs.detach()))


def test_a_full_ppo_step_reduces_to_finite_numbers():
    """The pieces chained as a trainer would: reward, GAE, losses; the gradient reaches both heads."""
    g = torch.Generator().manual_seed(3)
    mask = prefix_mask([4, 1, 3], 4)
    old_logp, ref = -torch.rand(3, 4, generator=g), -torch.rand(3, 4, generator=g)
    rewards = kl_penalised_rewards(torch.tensor([1.0, 0.0, 1.0]), old_logp, ref, mask, beta=0.04)
    old_values = torch.randn(3, 4, generator=g)
    adv, returns = gae(rewards, old_values, mask, gamma=1.0, lam=0.95)
    logp, values = old_logp.clone().requires_grad_(True), old_values.clone().requires_grad_(True)
    policy, _ = ppo_policy_loss(logp, old_logp, adv, mask)
    loss = policy + 0.1 * clipped_value_loss(values, old_values, returns, mask, clip=0.2)
    loss.backward()
    assert math.isfinite(float(loss.detach())) and logp.grad.abs().sum() > 0 and values.grad.abs().sum() > 0


def test_docstring_examples():
    result = doctest.testmod(ppo)
    assert result.attempted > 0 and result.failed == 0
