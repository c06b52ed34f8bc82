"""The paper's unified paradigm (§5.2.1, Table 10) as data: each method is a data source, a reward function
and a gradient coefficient, and each coefficient is a small function of the tensors it needs.

    from dsmath_lib.rl.paradigm import METHODS, paradigm_table
    paradigm_table()                                           # Table 10's layout, one row per method
    METHODS["RFT"].coefficient(correct, mask)                  # (N, T): 1 on the tokens of correct outputs

Every method's gradient has the same shape (paper §5.2.1):

    grad J = E_{(q, o) ~ data source} [ (1/|o|) sum_t GC(q, o, t, reward) grad log pi_theta(o_t | q, o_<t) ]

so the methods differ only in where (q, o) comes from, what scores it, and the coefficient GC. Each entry's
`coefficient` is the real function: the GRPO entries call rl.grpo.group_advantages and
rl.process.process_advantages, DPO is rl.dpo.dpo_gradient_coefficient, PPO is the GAE of rl.ppo.gae;
tests/test_rl_paradigm.py checks the GRPO, PPO and DPO coefficients against the gradients of the real losses.

Departures: Table 10 has one GRPO row; it is split here into outcome (GRPO+OS) and process supervision
(GRPO+PS), the two Figure 5 compares. The table names the paper's reward functions; this study's GRPO runs
reward with the rule itself (rl.rewards says why). DPO's log-ratios are sequence sums, not the paper's
per-token means (rl.dpo says why), and its true gradient carries a constant beta the paper drops.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd
import torch

from dsmath_lib.rl.dpo import dpo_gradient_coefficient
from dsmath_lib.rl.grpo import group_advantages
from dsmath_lib.rl.ppo import gae
from dsmath_lib.rl.process import process_advantages


@torch.no_grad()
def sft_coefficient(mask: torch.Tensor) -> torch.Tensor:
    """GC_SFT = 1 on every real token: plain maximum likelihood. mask: (N, T). Returns (N, T)."""
    return mask.float()


@torch.no_grad()
def rft_coefficient(correct: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """GC_RFT = I(o is correct) on every token of o, for RFT and online RFT alike (only the sampler differs).

    correct: (N,) 1/True when output i's answer is right; mask: (N, T). Returns (N, T).

    >>> rft_coefficient(torch.tensor([True, False]), torch.tensor([[1, 1, 0], [1, 1, 1]]))
    tensor([[1., 1., 0.],
            [0., 0., 0.]])
    """
    return correct.float()[:, None] * mask.float()


@torch.no_grad()
def ppo_coefficient(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float,
                    lam: float) -> torch.Tensor:
    """GC_PPO = A_t, the GAE advantage (rl.ppo.gae) of the per-token rewards and the value model's V(t).

    rewards, values, mask: (N, T). Returns (N, T)."""
    return gae(rewards, values, mask, gamma, lam)[0]


@torch.no_grad()
def grpo_outcome_coefficient(rewards: torch.Tensor, logp: torch.Tensor, ref_logp: torch.Tensor,
                             mask: torch.Tensor, beta: float) -> torch.Tensor:
    """GC_GRPO = A_i + beta (pi_ref / pi_theta - 1), A_i = rl.grpo.group_advantages of the outcome rewards.

    rewards: (B, G); logp, ref_logp, mask: (N, T), N = B * G in group order. Returns (N, T).
    The beta term is the gradient of GRPO's k3 KL: d/d log pi of -(pi_ref/pi - log(pi_ref/pi) - 1).
    """
    adv = group_advantages(rewards).flatten()[:, None]  # (N, 1): every token of o_i gets A_i
    return _with_kl_term(adv, logp, ref_logp, mask, beta)


@torch.no_grad()
def grpo_process_coefficient(step_rewards: Sequence[Sequence[float]], step_ends: Sequence[Sequence[int]],
                             logp: torch.Tensor, ref_logp: torch.Tensor, mask: torch.Tensor,
                             beta: float) -> torch.Tensor:
    """GC_GRPO with process supervision: A_it = rl.process.process_advantages of one group's step rewards.

    step_rewards, step_ends: as process_advantages (G outputs); logp, ref_logp, mask: (G, T). Returns (G, T).
    """
    adv = process_advantages(step_rewards, step_ends, logp.size(1))  # (G, T)
    return _with_kl_term(adv, logp, ref_logp, mask, beta)


def _with_kl_term(adv, logp, ref_logp, mask, beta):
    """(A + beta (pi_ref / pi - 1)) on real tokens, 0 on padding; adv (N, 1) or (N, T)."""
    return (adv + beta * (torch.exp(ref_logp - logp) - 1)) * mask.float()  # (N, T)


@dataclass(frozen=True)
class Method:
    """One row of Table 10: where (q, o) comes from, what scores o, and the coefficient GC."""

    name: str
    data_source: str
    reward: str  # "-" (none), "rule" (the answer checker) or "model" (a trained reward model)
    formula: str  # GC as text, in the paper's symbols
    coefficient: Callable[..., torch.Tensor]  # GC from tensors; its docstring gives the shapes


_OFFLINE, _ONLINE = "sampled from the SFT model (offline)", "sampled from the policy pi_theta (online)"
_KL = " + beta (pi_ref/pi_theta - 1)"
METHODS: dict[str, Method] = {m.name: m for m in (
    Method("SFT", "q, o from the SFT data (human-written)", "-", "1", sft_coefficient),
    Method("RFT", f"q from the SFT data; o {_OFFLINE}", "rule", "I(o is correct)", rft_coefficient),
    Method("DPO", f"q from the SFT data; o+, o- {_OFFLINE}", "rule",
           "sigma(beta log pi/pi_ref(o-) - beta log pi/pi_ref(o+)), + on o+, - on o-", dpo_gradient_coefficient),
    Method("Online RFT", f"q from the SFT data; o {_ONLINE}", "rule", "I(o is correct)", rft_coefficient),
    Method("PPO", f"q from the SFT data; o {_ONLINE}", "model", "A_t by GAE (needs a value model V_psi)",
           ppo_coefficient),
    Method("GRPO+OS", f"q from the SFT data; a group {{o_i}} {_ONLINE}", "model (outcome)",
           "A_i = (r_i - mean r) / std r" + _KL, grpo_outcome_coefficient),
    Method("GRPO+PS", f"q from the SFT data; a group {{o_i}} {_ONLINE}", "model (process)",
           "A_it = sum of normalised step rewards from t's step on" + _KL, grpo_process_coefficient),
)}


def paradigm_table() -> pd.DataFrame:
    """Table 10's layout, one row per method, plus the library function that computes each coefficient.

    >>> table = paradigm_table()
    >>> list(table["method"])
    ['SFT', 'RFT', 'DPO', 'Online RFT', 'PPO', 'GRPO+OS', 'GRPO+PS']
    >>> table.loc[table["method"] == "DPO", "computed by"].item()
    'dsmath_lib.rl.dpo.dpo_gradient_coefficient'
    """
    return pd.DataFrame([{"method": m.name, "data source": m.data_source, "reward function": m.reward,
                          "gradient coefficient": m.formula,
                          "computed by": f"{m.coefficient.__module__}.{m.coefficient.__qualname__}"}
                         for m in METHODS.values()])
