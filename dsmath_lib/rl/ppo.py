"""PPO's pieces (paper §4.1.1) as pure tensor functions: the KL-penalised reward, GAE, the two losses.

    from dsmath_lib.rl.ppo import kl_penalised_rewards, gae, ppo_policy_loss, clipped_value_loss
    rewards = kl_penalised_rewards(score, old_logp, ref_logp, mask, beta=0.04)         # (N,) -> (N, T)
    adv, returns = gae(rewards, old_values, mask, gamma=1.0, lam=0.95)                  # (N, T) each
    loss, stats = ppo_policy_loss(logp, old_logp, adv, mask, clip_eps=0.2)              # the clipped surrogate
    loss = loss + vf_coef * clipped_value_loss(values, old_values, returns, mask, clip=0.2)

The paper's PPO (§4.1.1), the baseline GRPO replaces:

    J = mean_o (1/|o|) sum_t min(ratio_t A_t, clip(ratio_t, 1 - eps, 1 + eps) A_t),  ratio_t = pi / pi_old
    r_t = r_phi(q, o_<=t) - beta log(pi_old(o_t | q, o_<t) / pi_ref(o_t | q, o_<t))
    A_t by GAE over r_t and a learned value function V_psi:
    delta_t = r_t + gamma V(t+1) - V(t),  A_t = delta_t + gamma lam A_(t+1)

Unlike GRPO the KL is a per-token penalty inside the reward (the k1 estimator log pi/pi_ref, not GRPO's k3
in the loss), and the baseline is V_psi, a second model the size of the policy. Per-token inputs are
(N, T), `mask` 1 on real completion tokens, a contiguous prefix of each row (a row may be empty).

Where it departs from the paper or leaves choices to the caller: the outcome reward model scores the whole
output, so r_phi is placed on the last real token and is 0 elsewhere (the usual reading of r_phi(q, o_<=t),
as in InstructGPT-style PPO). The paper gives no gamma, lambda, value clip or value-loss weight; the
examples above are common defaults, not the paper's. Advantages are not whitened here (trl's old PPO
trainer whitened them over the batch); a caller that wants it does so in one visible line.
"""

from __future__ import annotations

import torch

from dsmath_lib.rl.grpo import grpo_loss


@torch.no_grad()
def kl_penalised_rewards(score: torch.Tensor, logp: torch.Tensor, ref_logp: torch.Tensor, mask: torch.Tensor,
                         beta: float) -> torch.Tensor:
    """r_t = score * [t is the last real token] - beta * (log pi(o_t) - log pi_ref(o_t)), 0 on padding.

    score: (N,) the reward model's score of each whole output. logp: (N, T) log-probs of the sampled tokens
    under the policy that sampled them; ref_logp: (N, T) under the reference model. mask: (N, T).
    An empty row (no real token) gets all zeros: its score has no token to sit on. Returns (N, T), no grad.

    >>> kl_penalised_rewards(torch.tensor([1.0]), torch.tensor([[-1.0, -2.0, -9.0]]),
    ...                      torch.tensor([[-1.5, -1.0, -1.0]]), torch.tensor([[1, 1, 0]]), beta=0.1)
    tensor([[-0.0500,  1.1000,  0.0000]])
    """
    _check_prefix_mask(mask, logp.shape, "kl_penalised_rewards")
    m = mask.to(logp.dtype)
    rewards = -beta * (logp - ref_logp) * m  # (N, T): the k1 KL penalty on every real token
    lengths = m.sum(-1).long()  # (N,)
    rows = torch.nonzero(lengths > 0).squeeze(-1)  # (n,) rows with a last token
    rewards[rows, lengths[rows] - 1] += score.to(logp.dtype)[rows]
    return rewards


@torch.no_grad()
def gae(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float,
        lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation: A_t = sum_l (gamma lam)^l delta_(t+l), returns = A + V.

    rewards, values: (N, T) r_t and V(t) (the value of the state before token t); mask: (N, T), a prefix.
    The value after a row's last real token is 0 (the output ended). Returns (advantages, returns), both
    (N, T) with 0 on padding, no grad (they are targets, as in every PPO implementation).

    >>> gae(torch.tensor([[0.0, 1.0]]), torch.tensor([[0.5, 0.5]]), torch.tensor([[1, 1]]), gamma=1.0, lam=1.0)
    (tensor([[0.5000, 0.5000]]), tensor([[1., 1.]]))
    """
    _check_prefix_mask(mask, rewards.shape, "gae")
    if values.shape != rewards.shape:
        raise ValueError(f"gae: values {tuple(values.shape)} and rewards {tuple(rewards.shape)} differ in shape")
    m = mask.to(values.dtype)
    r, v = rewards * m, values * m  # (N, T): padding contributes nothing
    advantages = torch.zeros_like(v)  # (N, T)
    next_value = next_adv = torch.zeros_like(v[:, 0])  # (N,): 0 past the last token
    for t in reversed(range(v.size(1))):
        delta = r[:, t] + gamma * next_value - v[:, t]  # (N,)
        next_adv = (delta + gamma * lam * next_adv) * m[:, t]
        advantages[:, t] = next_adv
        next_value = v[:, t]
    return advantages, (advantages + v) * m


def clipped_value_loss(values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor,
                       mask: torch.Tensor, clip: float) -> torch.Tensor:
    """0.5 * max((V - R)^2, (V_clipped - R)^2), V_clipped = V_old + clip(V - V_old, -clip, clip): token mean.

    values: (N, T) V_psi now, with grad; old_values: (N, T) V_psi at rollout (the GAE's values);
    returns: (N, T) the GAE's targets; mask: (N, T). The mean is over every real token of the batch.

    >>> clipped_value_loss(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 0.0]]), torch.tensor([[0.0, 1.0]]),
    ...                    torch.tensor([[1, 1]]), clip=0.2)
    tensor(0.5000)
    """
    m = mask.to(values.dtype)
    clipped = old_values + torch.clamp(values - old_values, -clip, clip)  # (N, T)
    per_token = 0.5 * torch.max((values - returns) ** 2, (clipped - returns) ** 2)  # (N, T)
    return (per_token * m).sum() / m.sum().clamp(min=1.0)


def ppo_policy_loss(logp: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor,
                    clip_eps: float = 0.2) -> tuple[torch.Tensor, dict[str, float]]:
    """-J, PPO's clipped surrogate: (1/|o|) sum_t over each output, then the mean over outputs.

    The same surrogate and normalisation as GRPO's, so this is rl.grpo.grpo_loss at its paper defaults
    (per-output token mean, symmetric clip) with the KL term off (beta = 0): PPO's KL sits in the reward.
    logp: (N, T) with grad; old_logp: (N, T); advantages: (N, T) from `gae`; mask: (N, T).
    Returns (loss, stats), stats as grpo_loss's without its (here always 0) "kl".
    """
    # grpo_loss's variant switches are left at their defaults, the paper's; tests/test_rl_ppo.py pins the numbers
    loss, stats = grpo_loss(logp, old_logp, None, advantages, mask, clip_eps=clip_eps, beta=0.0)
    stats.pop("kl", None)
    return loss, stats


def _check_prefix_mask(mask: torch.Tensor, shape: torch.Size, name: str) -> None:
    """ValueError unless mask is (N, T) like the data and 1 on a contiguous prefix of each row, 0 after."""
    if mask.shape != shape:
        raise ValueError(f"{name}: mask {tuple(mask.shape)} and data {tuple(shape)} differ in shape")
    m = mask.float()
    if not ((m == 0) | (m == 1)).all() or (m[:, 1:] > m[:, :-1]).any():
        raise ValueError(f"{name}: mask must be 0/1 and 1 on a prefix of each row (right padding only)")
