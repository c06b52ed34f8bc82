"""DPO (Rafailov et al. 2023; the paper's appendix A.1.4 and Table 10) as pure tensor functions.

    from dsmath_lib.rl.dpo import dpo_loss, dpo_gradient_coefficient
    loss, chosen_rewards, rejected_rewards = dpo_loss(pi_chosen, pi_rejected, ref_chosen, ref_rejected, beta=0.1)
    coef = dpo_gradient_coefficient(pi_chosen, pi_rejected, ref_chosen, ref_rejected, beta=0.1)    # (P,)

Inputs are (P,) sequence log-probabilities of P preference pairs (o+ preferred to o-, for math: o+ correct,
o- wrong, both sampled offline from the SFT model): log pi(o | q) = sum_t log pi(o_t | q, o_<t), under the
policy being trained and under the frozen reference. With the log-ratios l(o) = log pi(o) - log pi_ref(o),

    loss = -mean log sigmoid(beta (l(o+) - l(o-))),    implicit rewards beta l(o+), beta l(o-)
    GC_DPO = sigmoid(beta l(o-) - beta l(o+))   (paper Table 10)

and d loss / d log pi(o+) = -beta GC_DPO / P, d loss / d log pi(o-) = +beta GC_DPO / P: each pair pushes
o+ up and o- down, hardest where the model still prefers o-. The paper's gradient drops the constant beta.

Departure from the paper: its DPO objective (appendix A.1.4) averages each log-ratio over the output's
tokens (1/|o| sum_t); here log-probs are summed, the original DPO and trl's "sigmoid" loss (the test checks
the two agree). Passing per-token means instead of sums gives the paper's form (trl's "sigmoid_norm").
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _margin(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps):
    """(l(o+), l(o-)): the policy-to-reference log-ratios of the chosen and the rejected output, (P,) each."""
    return policy_chosen_logps - ref_chosen_logps, policy_rejected_logps - ref_rejected_logps


def dpo_loss(policy_chosen_logps: torch.Tensor, policy_rejected_logps: torch.Tensor,
             ref_chosen_logps: torch.Tensor, ref_rejected_logps: torch.Tensor,
             beta: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The sigmoid DPO loss, mean over pairs, and the implicit rewards beta l(o+), beta l(o-) (detached).

    All inputs (P,): summed log-probs of each pair's chosen / rejected output under the policy (with grad)
    and the reference (no grad). Returns (loss scalar, chosen_rewards (P,), rejected_rewards (P,)).

    >>> loss, chosen, rejected = dpo_loss(torch.tensor([-4.0]), torch.tensor([-6.0]),
    ...                                   torch.tensor([-5.0]), torch.tensor([-5.0]), beta=0.5)
    >>> round(float(loss), 4), chosen, rejected       # -log sigmoid(0.5 * (1 - (-1))) = -log sigmoid(1)
    (0.3133, tensor([0.5000]), tensor([-0.5000]))
    """
    chosen, rejected = _margin(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps)
    loss = -F.logsigmoid(beta * (chosen - rejected)).mean()  # logsigmoid: stable for large margins
    return loss, beta * chosen.detach(), beta * rejected.detach()


@torch.no_grad()
def dpo_gradient_coefficient(policy_chosen_logps: torch.Tensor, policy_rejected_logps: torch.Tensor,
                             ref_chosen_logps: torch.Tensor, ref_rejected_logps: torch.Tensor,
                             beta: float) -> torch.Tensor:
    """GC_DPO = sigmoid(beta l(o-) - beta l(o+)) per pair (paper Table 10): +GC on o+'s tokens, -GC on o-'s.

    Same (P,) inputs as dpo_loss. Returns (P,) in (0, 1), no grad.

    >>> dpo_gradient_coefficient(torch.tensor([-5.0, -4.0]), torch.tensor([-5.0, -6.0]),
    ...                          torch.tensor([-5.0, -5.0]), torch.tensor([-5.0, -5.0]), beta=0.5)
    tensor([0.5000, 0.2689])
    """
    chosen, rejected = _margin(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps)
    return torch.sigmoid(beta * rejected - beta * chosen)
