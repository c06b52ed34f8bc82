"""Tests for dsmath_lib.rl.dpo: the sigmoid DPO loss and implicit rewards against trl 1.16's own
DPOTrainer._compute_loss, and the gradient coefficient against the loss's gradient.

trl 1.16 has no standalone DPO loss function: the formula lives inside DPOTrainer._compute_loss, which
takes the model's per-token log-probs from a forward pass. The test calls that real method unbound, with a
stand-in `self` carrying the attributes it reads (beta, loss_types, accelerator, ...) and a stand-in model
whose forward returns fixed per-token log-probs, so trl's own arithmetic runs on our numbers."""

import doctest
import types
from collections import defaultdict

import pytest
import torch

from dsmath_lib.rl import dpo
from dsmath_lib.rl.dpo import dpo_gradient_coefficient, dpo_loss

P, T = 5, 6
BETA = 0.1


def per_token_logps():
    """(policy, ref) per-token log-probs (2P, T), chosen rows then rejected, 0 where the mask is 0."""
    g = torch.Generator().manual_seed(0)
    lengths = [6, 3, 5, 1, 4, 2, 6, 4, 3, 5]
    mask = torch.tensor([[1.0 if t < n else 0.0 for t in range(T)] for n in lengths])  # (2P, T)
    policy = -torch.rand(2 * P, T, generator=g) * 3 * mask
    ref = (policy + 0.8 * torch.randn(2 * P, T, generator=g)).clamp(max=0) * mask
    return policy, ref, mask


def sequence_logps():
    """(policy chosen, policy rejected, ref chosen, ref rejected), each (P,): summed over real tokens."""
    policy, ref, _ = per_token_logps()
    (pc, pr), (rc, rr) = policy.sum(1).chunk(2), ref.sum(1).chunk(2)
    return pc, pr, rc, rr


def trl_dpo(beta):
    """trl's sigmoid DPO loss and its logged reward metrics, from DPOTrainer._compute_loss itself."""
    from trl import DPOTrainer

    policy, ref, mask = per_token_logps()
    width = T + 1  # trl drops the first position (shift): sequences of T + 1 ids give T log-probs
    outputs = types.SimpleNamespace(log_probs=policy, entropy=torch.zeros(2 * P, T),
                                    mean_logits=torch.zeros(2 * P, T), is_top1=torch.zeros(2 * P, T, dtype=torch.bool))
    fake_self = types.SimpleNamespace(
        model=types.SimpleNamespace(training=True), aux_loss_enabled=False, ld_alpha=None,
        precompute_ref_logps=True, f_divergence_type="reverse_kl", loss_types=["sigmoid"], loss_weights=[1.0],
        beta=beta, use_weighting=False, _metrics={"train": defaultdict(list)}, _total_train_tokens=0, _tp_size=1,
        accelerator=types.SimpleNamespace(device="cpu", gather=lambda x: x, gather_for_metrics=lambda x: x))
    ref_chosen, ref_rejected = ref.sum(1).chunk(2)
    inputs = {"input_ids": torch.zeros(2 * P, width, dtype=torch.long),
              "attention_mask": torch.ones(2 * P, width, dtype=torch.long),
              "completion_mask": torch.cat([torch.zeros(2 * P, 1), mask], 1).long(),
              "ref_chosen_logps": ref_chosen, "ref_rejected_logps": ref_rejected}
    loss = DPOTrainer._compute_loss(fake_self, lambda **kw: outputs, inputs, return_outputs=False)
    return loss, {k: v[-1] for k, v in fake_self._metrics["train"].items()}


@pytest.mark.parametrize("beta", [BETA, 0.5])
def test_loss_and_rewards_match_trl(beta):
    trl_loss, metrics = trl_dpo(beta)
    loss, chosen, rejected = dpo_loss(*sequence_logps(), beta=beta)
    assert abs(float(loss) - float(trl_loss)) < 1e-6
    assert float(chosen.mean()) == pytest.approx(metrics["rewards/chosen"], abs=1e-6)
    assert float(rejected.mean()) == pytest.approx(metrics["rewards/rejected"], abs=1e-6)
    assert float((chosen - rejected).mean()) == pytest.approx(metrics["rewards/margins"], abs=1e-6)
    assert float((chosen > rejected).float().mean()) == pytest.approx(metrics["rewards/accuracies"], abs=1e-6)
    assert 0 < float((chosen > rejected).float().mean()) < 1  # the pairs are not all on one side


def test_loss_by_hand_and_rewards_detached():
    pc = torch.tensor([-4.0, -5.0], requires_grad=True)
    loss, chosen, rejected = dpo_loss(pc, torch.tensor([-6.0, -5.0]), torch.tensor([-5.0, -5.0]),
                                      torch.tensor([-5.0, -7.0]), beta=0.5)
    # margins: 0.5 * (1 - (-1)) = 1 and 0.5 * (0 - 2) = -1; loss = mean(-log sigmoid(1), -log sigmoid(-1))
    expected = (torch.nn.functional.softplus(torch.tensor(-1.0)) + torch.nn.functional.softplus(torch.tensor(1.0))) / 2
    assert float(loss.detach()) == pytest.approx(float(expected))
    assert torch.equal(chosen, torch.tensor([0.5, 0.0])) and torch.equal(rejected, torch.tensor([-0.5, 1.0]))
    assert not chosen.requires_grad and not rejected.requires_grad
    one, far = torch.tensor([-1.0]), torch.tensor([-3000.0])
    big, _, _ = dpo_loss(one, far, one, one, 1.0)  # margin +2999: loss 0, not NaN
    worst, _, _ = dpo_loss(far, one, one, one, 1.0)  # margin -2999: loss 2999, not inf
    assert float(big) == 0.0 and float(worst) == pytest.approx(2999.0)  # no overflow at huge margins


def test_gradient_coefficient_is_the_losss_gradient():
    pc, pr, rc, rr = sequence_logps()
    pc, pr = pc.clone().requires_grad_(True), pr.clone().requires_grad_(True)
    loss, _, _ = dpo_loss(pc, pr, rc, rr, beta=BETA)
    loss.backward()
    coef = dpo_gradient_coefficient(pc, pr, rc, rr, beta=BETA)  # (P,)
    assert coef.shape == (P,) and ((coef > 0) & (coef < 1)).all() and not coef.requires_grad
    assert torch.allclose(pc.grad, -BETA * coef / P, atol=1e-7)  # minimising the loss raises log pi(o+) ...
    assert torch.allclose(pr.grad, BETA * coef / P, atol=1e-7)  # ... and lowers log pi(o-), by the same weight


def test_docstring_examples():
    result = doctest.testmod(dpo)
    assert result.attempted > 0 and result.failed == 0
