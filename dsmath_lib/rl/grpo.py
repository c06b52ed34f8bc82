"""The GRPO objective (paper §4, docs/PAPER.md §5) as pure tensor functions: advantages, the k3 KL, the loss.

    from dsmath_lib.rl.grpo import group_advantages, kl_k3, grpo_loss
    adv = group_advantages(rewards, scale=True)                   # (B, G) -> (B, G)
    loss, stats = grpo_loss(logp, old_logp, ref_logp, adv.flatten(), mask, normaliser="seq")
    loss.backward()                                               # loss = -J: minimising it ascends J

For each question q the old policy samples G outputs o_1..o_G; rewards r_i give A_i = (r_i - mean r) / std r
for every token of o_i (outcome supervision), and

    J = mean_i (1/|o_i|) sum_t [ min(ratio_it A_it, clip(ratio_it, 1 - eps, 1 + eps) A_it) - beta KL_it ]
    ratio_it = pi(o_it | q, o_i<t) / pi_old(o_it | q, o_i<t),  KL_it = pi_ref/pi - log(pi_ref/pi) - 1  (k3)

Variants are independent arguments, each one visible line (GRPOConfig's fields of the same names; the presets
"grpo", "dr_grpo" and "dapo" in config.GRPO_PRESETS combine them):
- `scale` of group_advantages (grpo.scale_rewards): divide by the group std (the paper) or not (Dr. GRPO).
- `normaliser` of grpo_loss (grpo.loss_normaliser): "seq", the paper's (1/|o_i|) sum_t then the mean over
  outputs; "token", every completion token of the batch weighs the same (DAPO); "constant", the token sum
  divided by (number of outputs) x (max completion length) (Dr. GRPO, as trl's "dr_grpo" does).
- `clip_eps_high` of grpo_loss (grpo.clip_eps_high): the upper clip 1 + eps_high (DAPO's clip-higher, 0.28);
  None clips symmetrically at 1 + eps, as the paper.
DAPO's dynamic sampling (grpo.dynamic_sampling_rounds) chooses data, so it lives in the trainer.

Conventions shared with trl 1.16 (tests/test_rl_grpo.py checks loss and gradient against trl's own code):
std is the unbiased (Bessel) group std and 1e-4 is added to it, so a group whose rewards are all equal has
advantages exactly 0 (no gradient, no NaN); the KL is in the loss, not in the reward. Per-token inputs are
(N, T): N sampled outputs, T completion positions, `mask` 1 on real completion tokens, 0 on padding.

Micro-batching: the normalisers default to this call's own batch; the trainer passes the whole step's
`n_seqs` and `n_tokens`, so summing micro-batch losses gives exactly the loss of the full batch.
"""

from __future__ import annotations

import torch

NORMALISERS = ("seq", "token", "constant")  # grpo.loss_normaliser
STD_EPS = 1e-4  # added to the group std (trl's value): an all-equal group gets 0 / 1e-4 = 0, not 0 / 0


def group_advantages(rewards: torch.Tensor, scale: bool = True) -> torch.Tensor:
    """A_i = (r_i - mean(r)) / std(r) within each group of G outputs; `scale=False` (Dr. GRPO) skips the std.

    rewards: (B, G), r_i of the G outputs of each of B questions. Returns (B, G).

    >>> group_advantages(torch.tensor([[1.0, 0.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0]]))
    tensor([[ 0.8659, -0.8659, -0.8659,  0.8659],
            [ 0.0000,  0.0000,  0.0000,  0.0000]])
    >>> group_advantages(torch.tensor([[1.0, 0.0, 0.0, 0.0]]), scale=False)
    tensor([[ 0.7500, -0.2500, -0.2500, -0.2500]])
    """
    rewards = rewards.float()
    centred = rewards - rewards.mean(dim=1, keepdim=True)  # (B, G)
    if not scale:
        return centred
    if rewards.size(1) < 2:  # one output per question: no spread to scale by, and no signal either
        return centred
    std = rewards.std(dim=1, keepdim=True)  # (B, 1), unbiased
    return centred / (std + STD_EPS)


def kl_k3(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """The k3 estimator of KL(pi || pi_ref) per token: pi_ref/pi - log(pi_ref/pi) - 1, always >= 0.

    logp, ref_logp: (N, T) log pi and log pi_ref of the sampled tokens. Returns (N, T).

    >>> kl_k3(torch.tensor([[-1.0, -2.0]]), torch.tensor([[-1.0, -1.0]]))
    tensor([[0.0000, 0.7183]])
    """
    log_ratio = ref_logp - logp  # log(pi_ref / pi)
    return torch.exp(log_ratio) - log_ratio - 1


def grpo_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    ref_logp: torch.Tensor | None,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    normaliser: str = "seq",
    clip_eps: float = 0.2,
    clip_eps_high: float | None = None,
    beta: float = 0.04,
    *,
    max_len: int | None = None,
    n_seqs: int | None = None,
    n_tokens: int | float | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """-J for a batch of sampled outputs, and diagnostics.

    logp: (N, T) log pi_theta(o_it | q, o_i<t), with grad (the policy being updated).
    old_logp: (N, T) log pi_old, the policy that sampled the outputs (no grad; equal to logp when mu = 1).
    ref_logp: (N, T) log pi_ref, the reference model (no grad); may be None when beta = 0.
    advantages: (N,) A_i per output (outcome supervision) or (N, T) A_it per token (process supervision).
    mask: (N, T) 1 on completion tokens, 0 on padding.
    normaliser: "seq" | "token" | "constant", what the token sum is divided by (see the module docstring).
    clip_eps: epsilon, the ratio is clipped to [1 - eps, 1 + eps_high]; clip_eps_high: eps_high, DAPO's
        clip-higher (None: eps_high = eps, the paper's symmetric clip). beta: weight of the k3 KL.
    max_len: the "constant" normaliser's length (the max completion length; default T). n_seqs, n_tokens: the whole
        batch's output and token counts when this call sees one micro-batch (default: this call's).

    Returns (loss, stats): stats holds token means of the k3 KL, the ratio, and the share of tokens whose
    ratio was clipped below (A < 0) or above (A > 0), plus the token count they are means over.
    """
    if normaliser not in NORMALISERS:
        raise ValueError(f"grpo.loss_normaliser = {normaliser!r}: choose one of {', '.join(NORMALISERS)}")
    mask = mask.to(logp.dtype)
    adv = advantages[:, None] if advantages.dim() == 1 else advantages  # (N, 1) or (N, T)
    eps_high = clip_eps if clip_eps_high is None else clip_eps_high  # DAPO's clip-higher; the paper's is symmetric
    ratio = torch.exp(logp - old_logp)  # (N, T), pi / pi_old
    clipped = torch.clamp(ratio, 1 - clip_eps, 1 + eps_high)
    surrogate = torch.min(ratio * adv, clipped * adv)  # (N, T)
    kl = kl_k3(logp, ref_logp) if ref_logp is not None else torch.zeros_like(logp)  # (N, T)
    per_token = -(surrogate - beta * kl)  # (N, T): minimise -J
    n_seqs = logp.size(0) if n_seqs is None else n_seqs
    if normaliser == "seq":  # the paper: (1/|o_i|) sum_t, then the mean over outputs
        per_seq = (per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)  # (N,)
        loss = per_seq.sum() / n_seqs
    elif normaliser == "constant":  # Dr. GRPO: no length normalisation, a constant divides the token sum
        loss = (per_token * mask).sum() / (n_seqs * (max_len or logp.size(1)))
    else:  # "token" (DAPO): every token of the batch weighs the same
        loss = (per_token * mask).sum() / (mask.sum() if n_tokens is None else n_tokens)
    return loss, _stats(ratio, adv, kl, mask, clip_eps, eps_high)


@torch.no_grad()
def _stats(ratio, adv, kl, mask, clip_low, clip_high) -> dict[str, float]:
    """Token means over the mask (the same definitions as trl's clip_ratio/low_mean and high_mean)."""
    tokens = mask.sum().clamp(min=1.0)
    low = ((ratio < 1 - clip_low) & (adv < 0)).to(mask.dtype)  # (N, T): the clip bound the update from below
    high = ((ratio > 1 + clip_high) & (adv > 0)).to(mask.dtype)

    def mean(x):
        return float((x * mask).sum() / tokens)

    return {"kl": mean(kl), "ratio": mean(ratio), "clip_low": mean(low), "clip_high": mean(high),
            "clip_frac": mean(low + high), "tokens": float(mask.sum())}
