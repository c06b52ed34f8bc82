"""Tests for dsmath_lib.rl.paradigm: every Table 10 entry's coefficient on a toy batch against hand values,
the GRPO / PPO / DPO coefficients against the gradients of the real losses, and the table's layout."""

import doctest
import importlib
import math

import pytest
import torch

from dsmath_lib.rl import dpo, grpo, paradigm, ppo
from dsmath_lib.rl.process import process_advantages
from dsmath_lib.rl.paradigm import METHODS, paradigm_table

MASK = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])  # (N, T), lengths 2, 3, 1
A2 = 0.5 / (math.sqrt(0.5) + grpo.STD_EPS)  # |A| of a two-output group {1, 0}: 0.5 / (std sqrt(1/2) + eps)


def toy_cases():
    """name -> (kwargs for the coefficient, the hand-expected coefficient)."""
    logp = torch.tensor([[-1.0, -1.0], [-1.0, -2.0]])
    ref = logp + torch.tensor([[0.0, math.log(2.0)], [0.0, 0.0]])  # pi_ref / pi = 2 on one token
    kl = torch.tensor([[0.0, 0.1 * (2.0 - 1.0)], [0.0, 0.0]])  # beta (pi_ref/pi - 1), beta = 0.1
    two = torch.tensor([[1.0, 1.0], [1.0, 0.0]])  # (G, T) mask, lengths 2, 1
    return {
        "SFT": (dict(mask=MASK), MASK),
        "RFT": (dict(correct=torch.tensor([1, 0, 1]), mask=MASK), MASK * torch.tensor([[1.0], [0.0], [1.0]])),
        "Online RFT": (dict(correct=torch.tensor([True, True, False]), mask=MASK),
                       MASK * torch.tensor([[1.0], [1.0], [0.0]])),
        "DPO": (dict(policy_chosen_logps=torch.tensor([-5.0, -4.0]), policy_rejected_logps=torch.tensor([-5.0, -6.0]),
                     ref_chosen_logps=torch.tensor([-5.0, -5.0]), ref_rejected_logps=torch.tensor([-5.0, -5.0]),
                     beta=0.5),
                torch.tensor([0.5, 1 / (1 + math.e)])),  # sigmoid(0) and sigmoid(0.5 * (-1) - 0.5 * 1)
        "PPO": (dict(rewards=torch.tensor([[0.0, 0.0, 1.0, 5.0]]), values=torch.tensor([[0.2, 0.4, 0.6, 7.0]]),
                     mask=torch.tensor([[1, 1, 1, 0]]), gamma=0.5, lam=0.9),
                torch.tensor([[0.036, 0.08, 0.4, 0.0]])),  # worked out in tests/test_rl_ppo.py
        "GRPO+OS": (dict(rewards=torch.tensor([[1.0, 0.0]]), logp=logp, ref_logp=ref, mask=two, beta=0.1),
                    torch.tensor([[A2, A2], [-A2, 0.0]]) + kl),
        "GRPO+PS": (dict(step_rewards=[[1.0], [0.0]], step_ends=[[2], [1]], logp=logp, ref_logp=ref, mask=two,
                         beta=0.1),
                    torch.tensor([[A2, A2], [-A2, 0.0]]) + kl),  # one step each: the outcome case
    }


@pytest.mark.parametrize("name", list(METHODS))
def test_every_coefficient_on_a_toy_batch(name):
    kwargs, expected = toy_cases()[name]
    assert torch.allclose(METHODS[name].coefficient(**kwargs), expected, atol=1e-6)


def test_every_method_has_a_toy_case_and_table_10s_rows():
    assert set(toy_cases()) == set(METHODS)
    assert list(METHODS) == ["SFT", "RFT", "DPO", "Online RFT", "PPO", "GRPO+OS", "GRPO+PS"]
    assert METHODS["RFT"].coefficient is METHODS["Online RFT"].coefficient  # only the sampler differs
    assert "offline" in METHODS["RFT"].data_source and "online" in METHODS["Online RFT"].data_source
    assert [m.reward for m in METHODS.values()] == ["-", "rule", "rule", "rule", "model", "model (outcome)",
                                                    "model (process)"]


def test_grpo_coefficients_are_the_gradient_of_grpo_loss():
    # on-policy (pi_old = pi_theta), d(-J)/d log pi_it = -GC_it / |o_i| / N for the real loss with its k3 KL
    g = torch.Generator().manual_seed(0)
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    logp = (-torch.rand(3, 4, generator=g) * 3).requires_grad_(True)
    ref = logp.detach() + 0.5 * torch.randn(3, 4, generator=g)
    n = mask.sum(1, keepdim=True)
    os_coef = paradigm.grpo_outcome_coefficient(torch.tensor([[1.0, 0.0, 1.0]]), logp.detach(), ref, mask, 0.04)
    ps_coef = paradigm.grpo_process_coefficient([[0.9, 0.1], [0.4], [0.2, 0.8, 0.3]], [[1, 3], [2], [1, 2, 4]],
                                                logp.detach(), ref, mask, 0.04)
    for coef, adv in ((os_coef, grpo.group_advantages(torch.tensor([[1.0, 0.0, 1.0]])).flatten()),
                      (ps_coef, process_advantages([[0.9, 0.1], [0.4], [0.2, 0.8, 0.3]],
                                                  [[1, 3], [2], [1, 2, 4]], 4))):
        logp.grad = None
        loss, _ = grpo.grpo_loss(logp, logp.detach(), ref, adv, mask, beta=0.04)
        loss.backward()
        assert torch.allclose(logp.grad, -coef / n / 3, atol=1e-6)
        assert coef.abs().sum() > 0


def test_ppo_and_dpo_coefficients_are_their_losss_gradients():
    kwargs, _ = toy_cases()["PPO"]
    coef = METHODS["PPO"].coefficient(**kwargs)  # (1, 4)
    logp = torch.full((1, 4), -1.0, requires_grad=True)
    loss, _ = ppo.ppo_policy_loss(logp, logp.detach(), ppo.gae(**kwargs)[0], kwargs["mask"])
    loss.backward()
    assert torch.allclose(logp.grad, -coef * kwargs["mask"] / 3, atol=1e-7)
    kwargs, _ = toy_cases()["DPO"]
    chosen = kwargs["policy_chosen_logps"].clone().requires_grad_(True)
    loss, _, _ = dpo.dpo_loss(**{**kwargs, "policy_chosen_logps": chosen})
    loss.backward()
    assert torch.allclose(chosen.grad, -0.5 * METHODS["DPO"].coefficient(**kwargs) / 2)  # -beta GC / P


def test_paradigm_table_layout_and_pointers():
    table = paradigm_table()
    assert list(table.columns) == ["method", "data source", "reward function", "gradient coefficient", "computed by"]
    assert len(table) == len(METHODS) and table["gradient coefficient"].str.len().min() > 0
    for name, where in zip(table["method"], table["computed by"]):
        module, _, attr = where.rpartition(".")
        assert getattr(importlib.import_module(module), attr) is METHODS[name].coefficient


def test_docstring_examples():
    result = doctest.testmod(paradigm)
    assert result.attempted > 0 and result.failed == 0
