"""PPO with a value model (paper §4.1.1) on GRPO's loop, and PPO-vs-GRPO step time and memory side by side.

    from dsmath_lib.rl.ppo_trainer import train_ppo, measure_step, compare_ppo_grpo
    result = train_ppo(policy, sft, tokenizer, questions, cfg, abl, out / "ppo", eval_problems=held_out)
    result.history, result.evals, result.value                 # GRPOResult plus the value model V_psi
    compare_ppo_grpo(policy, sft, tokenizer, questions, cfg, abl)   # one row per method: seconds and bytes

train_ppo is rl.trainer.train_grpo with PPO's update (`ppo_update`): the same rollouts (G outputs per question,
so both methods see the same batch), reward (the grader, or reward_fn) and log-probs. Per step, for each
micro-batch and without gradients: log pi_old (the policy before the update), log pi_ref, V_old (N, T); the
per-token reward r_t = score [t last] - beta log(pi_old / pi_ref) (rl.ppo.kl_penalised_rewards, the KL in the
reward, k1); A and the returns by GAE (rl.ppo.gae). Then mu passes of AdamW on the policy's clipped surrogate
(rl.ppo.ppo_policy_loss) plus vf_coef times the clipped value loss, the value model stepping with its own
AdamW. The value model is the SFT model's architecture with a scalar head at every token, initialised from the
SFT model (rl.prm.build_prm's model); V(t), the value of the state before token t, is its output at the
position that reads o_<t (prompt column P - 1 + t).

The logged "kl" is the k3 estimate of KL(pi_old || pi_ref), GRPO's definition, so the two histories compare;
the reward's penalty is k1, as the paper's PPO formula. Departures: the paper's PPO reward is a reward model,
ours the rule (rl.rewards); gamma, lambda, the value clip and vf_coef are trl's defaults (RLAblationConfig);
advantages are not whitened (rl.ppo). The value model is not part of train_grpo's resume state: a resumed PPO
run restarts V_psi from the SFT model (the policy and its optimiser resume exactly).

measure_step reports what it can measure honestly: wall seconds per step from the history (rollout, update);
the training state counted from the tensors (weights of every model held, gradients and AdamW's two moments of
every trained one: the memory a value model adds); on CUDA torch.cuda.max_memory_allocated over the steps; on
CPU the process's peak RSS (ru_maxrss), which only ever grows, so it is the method's own only in a fresh
process (bench/bench_ppo_vs_grpo.py runs each method in its own).
"""

from __future__ import annotations

import dataclasses
import resource
import statistics
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from dsmath_lib.config import GRPOConfig, RLAblationConfig
from dsmath_lib.problem import Problem
from dsmath_lib.rl.grpo import kl_k3
from dsmath_lib.rl.prm import build_prm, save_prm, token_scores
from dsmath_lib.rl.ppo import clipped_value_loss, gae, kl_penalised_rewards, ppo_policy_loss
from dsmath_lib.rl.rollout import token_logprobs
from dsmath_lib.rl.trainer import GRPOResult, _frozen_logprobs, _micro_batches, train_grpo


@dataclass
class PPOResult(GRPOResult):
    """GRPOResult plus the trained value model (saved at value_path)."""

    value: torch.nn.Module | None = None
    value_path: Path | None = None


def token_values(value, ids: torch.Tensor, att: torch.Tensor, comp: torch.Tensor) -> torch.Tensor:
    """V(t) for every completion position: ids, att (N, P + T), comp (N, T) -> (N, T), 0 on padding."""
    T = comp.size(1)
    P = ids.size(1) - T
    return token_scores(value, ids, att)[:, P - 1 : P + T - 1] * comp  # the position before token t has read o_<t


@torch.no_grad()
def _targets(policy, ref, value, micro: list[dict], cfg: GRPOConfig, abl: RLAblationConfig) -> None:
    """Per micro-batch: log pi_old, log pi_ref, V_old, the KL-penalised rewards, GAE advantages and returns."""
    _frozen_logprobs(ref, micro, "ref")
    _frozen_logprobs(policy, micro, "old")
    for mb in micro:
        mb["old_v"] = token_values(value, mb["ids"], mb["att"], mb["comp"])  # (n, T)
        rewards = kl_penalised_rewards(mb["adv"], mb["old"], mb["ref"], mb["comp"], cfg.beta)  # (n, T); adv: score
        mb["gae"], mb["ret"] = gae(rewards, mb["old_v"], mb["comp"], abl.ppo_gamma, abl.ppo_lam)  # (n, T) each


def ppo_update(value, value_optimizer, abl: RLAblationConfig):
    """An update_fn for train_grpo whose `advantages` are the outcome scores (N,): PPO's step (module docstring)."""
    def update_fn(policy, ref, batch, scores, cfg: GRPOConfig, optimizer, pad_id: int) -> dict:
        n_seqs, n_tokens = len(batch), max(1, sum(batch.lengths))
        micro = _micro_batches(batch, scores, cfg.micro_batch_size, pad_id, next(policy.parameters()).device)
        _targets(policy, ref, value, micro, cfg, abl)
        policy.eval(), value.eval()  # dropout off; gradients still flow
        sums = {"policy_loss": 0.0, "value_loss": 0.0, "clip_frac": 0.0}
        for mu in range(cfg.updates_per_step):
            optimizer.zero_grad(set_to_none=True)
            value_optimizer.zero_grad(set_to_none=True)
            for mb in micro:
                n, k = mb["comp"].size(0), float(mb["comp"].sum())
                logp = token_logprobs(policy, mb["ids"], mb["att"], mb["comp"])  # (n, T), with grad
                p_loss, stats = ppo_policy_loss(logp, mb["old"], mb["gae"], mb["comp"], cfg.clip_eps)
                v = token_values(value, mb["ids"], mb["att"], mb["comp"])  # (n, T), with grad
                v_loss = clipped_value_loss(v, mb["old_v"], mb["ret"], mb["comp"], abl.ppo_value_clip)
                (p_loss * n / n_seqs + abl.ppo_vf_coef * v_loss * k / n_tokens).backward()  # whole-batch means
                if mu == 0:
                    sums["policy_loss"] += float(p_loss.detach()) * n / n_seqs
                    sums["value_loss"] += float(v_loss.detach()) * k / n_tokens
                    sums["clip_frac"] += stats["clip_frac"] * k / n_tokens
            grad_norm = float(torch.nn.utils.clip_grad_norm_(policy.parameters(), cfg.grad_clip))
            value_grad_norm = float(torch.nn.utils.clip_grad_norm_(value.parameters(), cfg.grad_clip))
            optimizer.step()
            value_optimizer.step()
        kl = sum(float((kl_k3(mb["old"], mb["ref"]) * mb["comp"]).sum()) for mb in micro) / n_tokens
        advantage = sum(float(mb["gae"].sum()) for mb in micro) / n_tokens
        advantage_abs = sum(float((mb["gae"] * mb["comp"]).abs().sum()) for mb in micro) / n_tokens
        return {"advantage_abs": advantage_abs, "loss": sums["policy_loss"] + abl.ppo_vf_coef * sums["value_loss"], "grad_norm": grad_norm,
                "kl": kl, "clip_frac": sums["clip_frac"], "policy_loss": sums["policy_loss"],
                "value_loss": sums["value_loss"], "value_grad_norm": value_grad_norm, "advantage_mean": advantage}
    return update_fn


def train_ppo(policy, sft, tokenizer, questions: Sequence[Problem], cfg: GRPOConfig, abl: RLAblationConfig,
              out: str | Path, value=None, seed: int = 0, **kwargs) -> PPOResult:
    """PPO with a value model built from `sft` (or the given `value`); kwargs go to train_grpo."""
    from dsmath_lib.rl.methods import record_config

    record_config(out, "PPO", abl)
    value = value if value is not None else build_prm(sft, seed=seed)  # V_psi: the SFT trunk, a new scalar head
    value_optimizer = torch.optim.AdamW(value.parameters(), lr=abl.ppo_value_lr or cfg.lr, weight_decay=0.0)
    card = {"notebook": "06_rl_ablations", "method": "PPO", "description": f"PPO, {cfg.steps} steps, gamma "
            f"{abl.ppo_gamma}, lambda {abl.ppo_lam}"}
    result = train_grpo(policy, sft, tokenizer, questions, cfg, out, seed=seed, card=card,
                        advantage_fn=lambda batch, rewards: rewards.flatten(),  # (N,) scores; GAE in the update
                        update_fn=ppo_update(value, value_optimizer, abl), **kwargs)
    path = save_prm(value, tokenizer, Path(out) / "value", card={"notebook": "06_rl_ablations", "stage": "value"})
    return PPOResult(result.policy, result.history, result.evals, result.path, value=value, value_path=path)


def training_state_bytes(trained: Sequence[torch.nn.Module], frozen: Sequence[torch.nn.Module]) -> int:
    """Bytes of the weights of every model, plus gradients and AdamW's two moments of the trained ones."""
    size = lambda m: sum(p.numel() * p.element_size() for p in m.parameters())  # noqa: E731
    return sum(4 * size(m) for m in trained) + sum(size(m) for m in frozen)


def measure_step(method: str, policy, sft, tokenizer, questions: Sequence[Problem], cfg: GRPOConfig,
                 abl: RLAblationConfig, steps: int = 2, reward_fn=None) -> dict:
    """Train `method` ("grpo" or "ppo") for `steps` steps in a temporary folder and report its cost (module
    docstring). The first step is a warm-up: the seconds are medians over the others (all if steps == 1)."""
    cfg = dataclasses.replace(cfg, steps=steps, eval_every=10**9)
    cuda = next(policy.parameters()).is_cuda
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    with tempfile.TemporaryDirectory() as out:
        if method == "ppo":
            result = train_ppo(policy, sft, tokenizer, questions, cfg, abl, out, progress=False, reward_fn=reward_fn)
            trained = [policy, result.value]
        elif method == "grpo":
            result, trained = train_grpo(policy, sft, tokenizer, questions, cfg, out, progress=False,
                                         reward_fn=reward_fn), [policy]
        else:
            raise ValueError(f"measure_step: method={method!r}; choose 'grpo' or 'ppo'")
    timed = result.history[1:] or result.history
    row = {"method": method.upper(), "rollout_s": statistics.median(h["rollout_s"] for h in timed),
           "update_s": statistics.median(h["update_s"] for h in timed),
           "response_length": statistics.mean(h["response_length"] for h in timed),
           "state_mb": training_state_bytes(trained, [sft]) / 2**20,
           "cuda_peak_mb": torch.cuda.max_memory_allocated() / 2**20 if cuda else float("nan"),
           "rss_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}  # Linux: KiB
    row["step_s"] = row["rollout_s"] + row["update_s"]
    return row


def compare_ppo_grpo(policy, sft, tokenizer, questions: Sequence[Problem], cfg: GRPOConfig, abl: RLAblationConfig,
                     steps: int = 2, reward_fn=None):
    """measure_step for GRPO then PPO, each from a copy of `policy` (same weights, batch and lengths), as a table."""
    import copy

    import pandas as pd

    rows = [measure_step(m, copy.deepcopy(policy), sft, tokenizer, questions, cfg, abl, steps, reward_fn)
            for m in ("grpo", "ppo")]
    return pd.DataFrame(rows)
