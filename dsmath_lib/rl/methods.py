"""The methods GRPO is compared with (paper §4.1.3-4.1.4, §5.2, Table 10), as trainers on GRPO's own loop.

    from dsmath_lib.rl.methods import initial_prm, train_method, train_iterative
    abl = RLAblationConfig(steps=30)                     # config.RLAblationConfig: shared steps and lr, per-method knobs
    prm, prm_data, _ = initial_prm(sft, tokenizer, questions, params.grpo, abl)   # Math-Shepherd labels, then training
    runs = {name: train_method(name, copy.deepcopy(sft), sft, tokenizer, questions, params.grpo, abl,
                               out / name, prm=prm, eval_problems=held_out, seed=params.seed)
            for name in ("RFT", "Online RFT", "GRPO+OS", "GRPO+PS", "DPO", "PPO")}
    runs["RFT"].history, runs["RFT"].evals               # GRPOResult: Figure 5's curves, per-step seconds
    it = train_iterative(copy.deepcopy(sft), copy.deepcopy(sft), prm, tokenizer, questions,
                         method_config(params.grpo, abl), abl, out / "iterative", prm_data)   # ref and prm change
    it.evals()                                           # Figure 6: every round on one step axis

Every method is rl.trainer.train_grpo with some of its three parts swapped, the parts of Table 10
(rl.paradigm.METHODS): the data source (`collect_fn`), the reward and the gradient coefficient
(`advantage_fn`, or `update_fn` where the loss is not GRPO's). So rollouts, rewards, log-probs, micro-batching,
held-out evaluation (evaluate_policy at eval_every), resume and saving are GRPO's, and the curves compare like
with like. `sft` is the frozen SFT (Instruct) model: the reference of the KL and DPO, and the sampler of the
offline methods. GRPO with outcome supervision is train_grpo itself; PPO is rl.ppo_trainer.

- RFT: G outputs per RL question sampled once from the SFT model, only the correct ones kept (`rft_dataset`);
  each step trains on a batch of them with coefficient 1 (SFT on correct samples), no KL.
- Online RFT: GRPO's rollouts from the current policy with GC = I(o correct) (paradigm's rft_coefficient), no KL;
  with GRPO's "seq" normaliser the mean runs over all outputs, wrong ones weighing 0 (the paradigm's expectation).
- DPO: pairs (o+, o-) of one question's SFT samples, one correct and one wrong (`dpo_pairs`), the sigmoid loss
  of rl.dpo.dpo_loss against the frozen SFT model.
- GRPO+PS: advantages from rl.process.process_advantages of the PRM's step rewards (rl.prm.step_rewards);
  the KL k3 to the reference and the clipped loss as train_grpo.
- Iterative RL (Algorithm 1): rounds of GRPO+PS; between rounds new solutions from the policy are labelled
  Math-Shepherd style, the PRM trains further on them plus a replay of `replay_share` of the historical
  examples (rl.prm_labels.replay_mix), and the reference is reset to the policy.

"Correct" is reward > 0, the reward being the grader (or the caller's reward_fn, as train_grpo). RFT and DPO
sample the questions an online run of the same steps would draw (`run_questions`), so all methods see the
same questions. Departures at small scale: RFT and DPO draw G samples per question (the paper: not given); each
iterative round starts a new AdamW optimiser and its own run folder (out/round-<r>), and a rerun resumes each
round but re-trains the PRM between rounds (deterministically, from the same seeds) instead of caching it;
likewise a rerun of RFT or DPO re-samples its offline data (seeded: the same data) before resuming.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from dsmath_lib.config import GRPOConfig, RLAblationConfig
from dsmath_lib.problem import Problem
from dsmath_lib.rl.dpo import dpo_loss
from dsmath_lib.rl.paradigm import METHODS
from dsmath_lib.rl.prm import build_prm, step_rewards, train_prm
from dsmath_lib.rl.prm_labels import PRMExample, label_steps, replay_mix
from dsmath_lib.rl.process import process_advantages
from dsmath_lib.rl.rewards import outcome_rewards
from dsmath_lib.rl.rollout import Rollout, make_sampler, rollout, token_logprobs
from dsmath_lib.rl.trainer import GRPOResult, step_questions, train_grpo

NOTEBOOK = "06_rl_ablations"
log = logging.getLogger(__name__)


def method_config(grpo: GRPOConfig, abl: RLAblationConfig, **fields) -> GRPOConfig:
    """GRPOConfig with the ablation's shared steps, lr, eval_every and eval_problems (0 keeps grpo's) and any
    `fields` over it.

    >>> cfg = method_config(GRPOConfig(steps=30, eval_every=10), RLAblationConfig(steps=12, eval_every=4))
    >>> cfg.steps, cfg.eval_every, cfg.lr == GRPOConfig().lr
    (12, 4, True)
    """
    return dataclasses.replace(grpo, steps=abl.steps or grpo.steps, lr=abl.lr or grpo.lr,
                               eval_every=abl.eval_every or grpo.eval_every,
                               eval_problems=abl.eval_problems or grpo.eval_problems, **fields)


def _card(method: str, cfg: GRPOConfig, extra: str = "") -> dict:
    steps = f", {cfg.steps} steps" if cfg.steps else ", one pass over the questions"
    return {"notebook": NOTEBOOK, "method": method, "description": f"{method}{steps}{extra}"}


def record_config(out: str | Path, method: str, abl: RLAblationConfig) -> None:
    """out/ablation.json: the method and the RLAblationConfig it ran with (train_grpo writes out/config.json)."""
    Path(out).mkdir(parents=True, exist_ok=True)
    blob = {"method": method, "ablation": dataclasses.asdict(abl)}
    (Path(out) / "ablation.json").write_text(json.dumps(blob, indent=1) + "\n")


def _rows(batch: Rollout, rows: Sequence[int], group_size: int) -> Rollout:
    """The rows `rows` of a rollout, regrouped in `group_size`s (1: single outputs, 2: DPO pairs)."""
    flat = Rollout(batch.problems, batch.prompt_ids, batch.completion_ids, batch.texts, 1).groups(list(rows))
    return dataclasses.replace(flat, group_size=group_size)


def run_questions(n_questions: int, cfg: GRPOConfig, seed: int) -> list[int]:
    """The questions an online run of cfg.steps steps draws (rl.trainer.step_questions), each once, sorted:
    the offline methods sample these, so every method of a comparison sees the same questions.

    >>> run_questions(10, GRPOConfig(steps=2, questions_per_step=3), seed=0) == sorted(
    ...     step_questions(10, 3, 0, 0) + step_questions(10, 3, 1, 0))
    True
    """
    steps = cfg.steps or math.ceil(n_questions / cfg.questions_per_step)
    return sorted({i for s in range(steps) for i in step_questions(n_questions, cfg.questions_per_step, s, seed)})


def _sft_samples(sft, tokenizer, questions, cfg: GRPOConfig, n: int, seed: int, reward_fn, workdir="."):
    """n outputs per run question (run_questions) from the SFT model, the offline data source, and their
    rewards (N,)."""
    sample = make_sampler(cfg.rollout_engine, sft, tokenizer, cfg.rollout_batch_size, workdir)
    picks = [questions[i] for i in run_questions(len(questions), cfg, seed)]  # (Q,)
    batch = rollout(sample, tokenizer, picks, n, max_new_tokens=cfg.max_new_tokens, temperature=cfg.temperature,
                    seed=seed)
    return batch, (reward_fn or outcome_rewards)(batch.texts, batch.problems)


def rft_dataset(batch: Rollout, rewards: Sequence[float]) -> Rollout:
    """RFT's data: the correct outputs (reward > 0) of `batch`, one per group (group_size 1), in order."""
    return _rows(batch, [i for i, r in enumerate(rewards) if r > 0], 1)


def dpo_pairs(rewards: Sequence[float], group_size: int, per_question: int = 1, seed: int = 0) -> list[tuple[int, int]]:
    """(chosen, rejected) row pairs: within each group of `group_size` rows (one question), a correct
    (reward > 0) and a wrong output, up to `per_question` disjoint pairs in a seeded order per question.

    >>> dpo_pairs([1.0, 0.0, 0.0, 1.0, 1.0, 1.0], group_size=3, per_question=2)   # question 2: all correct, no pair
    [(0, 2)]
    >>> dpo_pairs([1.0, 0.0, 1.0, 0.0], group_size=4, per_question=2)
    [(0, 1), (2, 3)]
    """
    pairs = []
    for q in range(len(rewards) // group_size):
        rows = list(range(q * group_size, (q + 1) * group_size))
        random.Random(f"dpo-pairs:{seed}:{q}").shuffle(rows)
        good, bad = [i for i in rows if rewards[i] > 0], [i for i in rows if rewards[i] <= 0]
        pairs += list(zip(good, bad))[:per_question]
    return pairs


def dataset_collect(data: Rollout, per_step: int, seed: int, rewards: Sequence[float]):
    """A collect_fn over a fixed dataset: step s trains on `per_step` of its groups (a seeded permutation per
    epoch, as step_questions); `rewards` are the G rewards every group carries (RFT [1], DPO [1, 0])."""
    n = len(data) // data.group_size

    def collect_fn(sample, step):
        picks = step_questions(n, min(per_step, n), step, seed)
        batch = data.groups(picks)
        r = torch.tensor([list(rewards)] * len(picks), dtype=torch.float32)  # (b, G)
        return batch, r, {"reward_mean": float(r.mean()), "accuracy": float(r.mean()), "groups": len(picks),
                          "response_length": sum(batch.lengths) / max(1, len(batch))}
    return collect_fn


def rft_advantages(batch: Rollout, rewards: torch.Tensor) -> torch.Tensor:
    """GC_RFT = I(o is correct) on every token of o (paradigm's rft_coefficient): rewards (B, G) -> (N, T)."""
    _, _, mask = batch.tensors()  # (N, T)
    return METHODS["Online RFT"].coefficient(rewards.flatten() > 0, mask)


def train_rft(policy, sft, tokenizer, questions: Sequence[Problem], cfg: GRPOConfig, abl: RLAblationConfig,
              out: str | Path, seed: int = 0, reward_fn=None, **kwargs) -> GRPOResult:
    """Offline RFT: sample once from `sft`, keep the correct outputs, train on them with coefficient 1.
    kwargs go to train_grpo (eval_problems, tracker, progress, eval_cfg)."""
    record_config(out, "RFT", abl)
    batch, rewards = _sft_samples(sft, tokenizer, questions, cfg, abl.rft_samples or cfg.group_size,
                                  seed, reward_fn, out)
    data = rft_dataset(batch, rewards)
    if not len(data):
        log.warning("train_rft: none of the SFT model's %d samples is correct: RFT has no data and no update",
                    len(batch))
    per_step = abl.rft_batch_size or cfg.questions_per_step * cfg.group_size
    cfg = dataclasses.replace(cfg, beta=0.0, steps=cfg.steps or math.ceil(len(data) / per_step))
    card = _card("RFT", cfg, f" of {per_step} from {len(data)} correct of {len(batch)} SFT samples")
    result = train_grpo(policy, sft, tokenizer, questions, cfg, out, seed=seed, reward_fn=reward_fn, card=card,
                        collect_fn=dataset_collect(data, per_step, seed, [1.0]), advantage_fn=rft_advantages,
                        **kwargs)
    result.data = {"sampled": len(batch), "correct": len(data)}
    return result


def train_online_rft(policy, sft, tokenizer, questions: Sequence[Problem], cfg: GRPOConfig, out: str | Path,
                     **kwargs) -> GRPOResult:
    """Online RFT: GRPO's rollouts from the current policy, GC = I(o correct), no KL. kwargs: train_grpo's."""
    cfg = dataclasses.replace(cfg, beta=0.0)
    return train_grpo(policy, sft, tokenizer, questions, cfg, out, advantage_fn=rft_advantages,
                      card=_card("Online RFT", cfg), **kwargs)


def dpo_update(beta: float):
    """An update_fn: one AdamW step on the mean DPO loss of the batch's (o+, o-) row pairs (rows 2p, 2p + 1)."""
    def update_fn(policy, ref, batch: Rollout, advantages, cfg: GRPOConfig, optimizer, pad_id: int) -> dict:
        n_pairs, size, device = len(batch) // 2, max(1, cfg.micro_batch_size // 2), next(policy.parameters()).device
        policy.eval()  # dropout off, as GRPO's update
        optimizer.zero_grad(set_to_none=True)
        total, margins = 0.0, []
        for lo in range(0, n_pairs, size):
            rows = list(range(2 * lo, 2 * min(n_pairs, lo + size)))  # whole pairs, chosen first
            ids, att, comp = (t.to(device) for t in batch.tensors(rows, pad_id))
            with torch.no_grad():
                ref_lp = token_logprobs(ref, ids, att, comp).sum(-1)  # (n,) log pi_ref(o | q)
            lp = token_logprobs(policy, ids, att, comp).sum(-1)  # (n,) log pi_theta(o | q), with grad
            loss, chosen, rejected = dpo_loss(lp[0::2], lp[1::2], ref_lp[0::2], ref_lp[1::2], beta)
            (loss * (len(rows) // 2) / n_pairs).backward()  # the mean over all pairs of the step
            total += float(loss.detach()) * (len(rows) // 2) / n_pairs
            margins.append(chosen - rejected)  # (p,) implicit reward margins
        grad_norm = float(torch.nn.utils.clip_grad_norm_(policy.parameters(), cfg.grad_clip))
        optimizer.step()
        margin = torch.cat(margins)
        return {"loss": total, "grad_norm": grad_norm, "dpo_margin": float(margin.mean()),
                "dpo_accuracy": float((margin > 0).float().mean())}
    return update_fn


def train_dpo(policy, sft, tokenizer, questions: Sequence[Problem], cfg: GRPOConfig, abl: RLAblationConfig,
              out: str | Path, seed: int = 0, reward_fn=None, **kwargs) -> GRPOResult:
    """DPO on (correct, wrong) pairs of the SFT model's samples of each question, against the frozen `sft`."""
    record_config(out, "DPO", abl)
    batch, rewards = _sft_samples(sft, tokenizer, questions, cfg, cfg.group_size, seed, reward_fn, out)
    pairs = dpo_pairs(rewards, cfg.group_size, abl.dpo_pairs_per_question, seed)
    if not pairs:
        log.warning("train_dpo: no question has both a correct and a wrong output among %d samples: DPO has no "
                    "pairs and no update", len(batch))
    data = _rows(batch, [i for pair in pairs for i in pair], 2)  # (2P,) rows: o+ then o- of each pair
    per_step = abl.dpo_batch_size or max(1, cfg.questions_per_step * cfg.group_size // 2)
    cfg = dataclasses.replace(cfg, steps=cfg.steps or math.ceil(len(pairs) / per_step))
    card = _card("DPO", cfg, f" of {per_step} pairs from {len(pairs)}, beta {abl.dpo_beta}")
    result = train_grpo(policy, sft, tokenizer, questions, cfg, out, seed=seed, reward_fn=reward_fn, card=card,
                        collect_fn=dataset_collect(data, per_step, seed, [1.0, 0.0]),
                        advantage_fn=lambda b, r: torch.zeros(len(b)), update_fn=dpo_update(abl.dpo_beta), **kwargs)
    result.data = {"sampled": len(batch), "pairs": len(pairs)}
    return result


def process_advantage_fn(prm, tokenizer):
    """An advantage_fn: the PRM's step rewards of each group -> rl.process.process_advantages, (N, T)."""
    def advantages(batch: Rollout, rewards: torch.Tensor) -> torch.Tensor:
        step_r, ends = step_rewards(prm, tokenizer, batch.prompt_ids, batch.completion_ids)
        T, G = max(1, max(batch.lengths, default=1)), batch.group_size
        return torch.cat([process_advantages(step_r[a : a + G], ends[a : a + G], T)  # (G, T) per group
                          for a in range(0, len(batch), G)]) if len(batch) else torch.zeros(0, T)
    return advantages


def train_grpo_ps(policy, ref, prm, tokenizer, questions: Sequence[Problem], cfg: GRPOConfig, out: str | Path,
                  **kwargs) -> GRPOResult:
    """GRPO with process supervision: train_grpo with advantages from `prm`'s step rewards. kwargs: train_grpo's."""
    return train_grpo(policy, ref, tokenizer, questions, cfg, out, advantage_fn=process_advantage_fn(prm, tokenizer),
                      card=_card("GRPO+PS", cfg), **kwargs)


def prm_examples(policy, tokenizer, questions: Sequence[Problem], cfg: GRPOConfig, abl: RLAblationConfig,
                 seed: int = 0, reward_fn=None) -> list[PRMExample]:
    """Math-Shepherd data from `policy`: prm_samples solutions to each of prm_questions seeded questions, each
    step labelled from prm_completions completions by the same policy (the completer)."""
    sample = make_sampler(cfg.rollout_engine, policy, tokenizer, cfg.rollout_batch_size)
    picks = random.Random(f"prm-questions:{seed}").sample(range(len(questions)), min(abl.prm_questions, len(questions)))
    batch = rollout(sample, tokenizer, [questions[i] for i in picks], abl.prm_samples,
                    max_new_tokens=cfg.max_new_tokens, temperature=cfg.temperature, seed=seed)
    return label_steps(sample, tokenizer, batch.problems, batch.completion_ids, n_completions=abl.prm_completions,
                       max_new_tokens=cfg.max_new_tokens, temperature=cfg.temperature, seed=seed,
                       estimate=abl.prm_estimate, reward_fn=reward_fn or outcome_rewards)


def _train_prm(prm, tokenizer, examples, abl: RLAblationConfig, seed: int) -> list[dict]:
    return train_prm(prm, tokenizer, examples, lr=abl.prm_lr, epochs=abl.prm_epochs, batch_size=abl.prm_batch_size,
                     seed=seed, progress=False)


def initial_prm(sft, tokenizer, questions: Sequence[Problem], cfg: GRPOConfig, abl: RLAblationConfig,
                seed: int = 0, reward_fn=None):
    """(prm, examples, history): a PRM built from `sft` (rl.prm.build_prm) trained on Math-Shepherd labels of
    the SFT model's own solutions; `examples` are the historical data iterative RL replays from."""
    prm = build_prm(sft, seed=seed)
    examples = prm_examples(sft, tokenizer, questions, cfg, abl, seed, reward_fn)
    return prm, examples, _train_prm(prm, tokenizer, examples, abl, seed)


@dataclass
class IterativeResult:
    """Iterative RL's rounds (GRPOResult each, run folder out/round-<r>) and the PRM refresh before each round > 1."""

    rounds: list[GRPOResult] = field(default_factory=list)
    refreshes: list[dict] = field(default_factory=list)  # {"round", "new", "replayed", "history", "prm_loss"}

    def evals(self) -> list[dict]:
        """Every round's held-out evaluations on one axis (Figure 6): "step" counts from the first round's
        start, "round" names the round; a round's step-0 point (its start, the previous round's end) is kept."""
        rows, offset = [], 0
        for r, result in enumerate(self.rounds, 1):
            rows += [{**e, "round": r, "step": e["step"] + offset} for e in result.evals]
            offset += len(result.history)
        return rows


def train_iterative(policy, ref, prm, tokenizer, questions: Sequence[Problem], cfg: GRPOConfig,
                    abl: RLAblationConfig, out: str | Path, prm_history: Sequence[PRMExample], seed: int = 0,
                    reward_fn=None, **kwargs) -> IterativeResult:
    """Paper Algorithm 1: abl.iterative_rounds rounds of GRPO+PS (cfg.steps each). Before every round after the
    first: new Math-Shepherd data from the policy, the PRM trained on it plus replay_share of the history,
    and the reference reset to the policy. `ref` and `prm` are updated in place. kwargs: train_grpo's."""
    record_config(out, "Iterative GRPO+PS", abl)
    history, result = list(prm_history), IterativeResult()
    start = kwargs.pop("init_checkpoint", None)  # round r > 1 starts from round r - 1's saved policy
    for r in range(1, abl.iterative_rounds + 1):
        if r > 1:
            new = prm_examples(policy, tokenizer, questions, cfg, abl, seed + r, reward_fn)
            mix = replay_mix(new, history, share=abl.replay_share, seed=seed + r)
            losses = _train_prm(prm, tokenizer, mix, abl, seed + r)
            result.refreshes.append({"round": r, "new": len(new), "replayed": len(mix) - len(new),
                                     "history": len(history), "prm_loss": losses[-1]["loss"]})
            history += new
            ref.load_state_dict(policy.state_dict())  # Algorithm 1: pi_ref <- pi_theta
        result.rounds.append(train_grpo_ps(policy, ref, prm, tokenizer, questions, cfg, Path(out) / f"round-{r}",
                                           seed=seed + r - 1, reward_fn=reward_fn,
                                           init_checkpoint=start if r == 1 else result.rounds[-1].path, **kwargs))
    return result


def train_method(name: str, policy, sft, tokenizer, questions: Sequence[Problem], cfg: GRPOConfig,
                 abl: RLAblationConfig, out: str | Path, prm=None, **kwargs) -> GRPOResult:
    """The trainer of paradigm.METHODS[name] (all but SFT, which is notebook 04's), one branch each, with
    method_config(cfg, abl)'s shared steps and lr. prm: GRPO+PS's process reward model. kwargs: train_grpo's."""
    from dsmath_lib.rl.ppo_trainer import train_ppo

    cfg = method_config(cfg, abl)
    if name == "RFT":
        return train_rft(policy, sft, tokenizer, questions, cfg, abl, out, **kwargs)
    if name == "Online RFT":
        return train_online_rft(policy, sft, tokenizer, questions, cfg, out, **kwargs)
    if name == "DPO":
        return train_dpo(policy, sft, tokenizer, questions, cfg, abl, out, **kwargs)
    if name == "PPO":
        return train_ppo(policy, sft, tokenizer, questions, cfg, abl, out, **kwargs)
    if name == "GRPO+OS":
        return train_grpo(policy, sft, tokenizer, questions, cfg, out, card=_card("GRPO+OS", cfg), **kwargs)
    if name == "GRPO+PS":
        if prm is None:
            raise ValueError("train_method('GRPO+PS'): pass prm=, the process reward model (initial_prm)")
        return train_grpo_ps(policy, sft, prm, tokenizer, questions, cfg, out, **kwargs)
    raise ValueError(f"train_method: {name!r} is not one of {', '.join(m for m in METHODS if m != 'SFT')}")
