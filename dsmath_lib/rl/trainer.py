"""The GRPO training loop (paper §4, Algorithm 1 without the reward-model refresh): rollout, reward, update.

    from dsmath_lib.rl.trainer import train_grpo
    result = train_grpo(policy, ref, tokenizer, world.train, params.grpo, artifacts / "rl" / "grpo",
                        eval_problems=held_out, tracker=tracker, seed=params.seed)
    result.history[-1]["reward_mean"], result.evals[-1]["accuracy"], result.path   # path: the saved policy

One step (an exploration stage): draw `questions_per_step` questions (a seeded permutation of the RL
questions per epoch, so step s always gets the same ones), sample G outputs each from the current policy
(rollout.py), reward them with the evaluation's grader (rewards.py), turn rewards into group advantages,
then `updates_per_step` (mu) passes over the batch, each one AdamW step over micro-batches (grpo.py's loss,
normalised by the whole batch so micro-batching changes nothing). Rollouts, rewards and advantages are
built on the CPU; each micro-batch moves to the policy's device (model.compute_device() for models from the
factory), and what is logged comes back as Python floats. With mu = 1 pi_old is the policy itself
(ratio 1, the clip idle, as in the paper); with mu > 1 pi_old's log-probs are taken before the first pass.
The variant is four GRPOConfig fields (presets in config.GRPO_PRESETS): `scale_rewards` and
`dynamic_sampling_rounds` act here, `loss_normaliser` and `clip_eps_high` in grpo.py's loss. Dynamic sampling
(DAPO, on when dynamic_sampling_rounds > 1): groups whose G rewards are all equal are dropped and more
questions are sampled, up to `dynamic_sampling_rounds` rollout rounds, to fill the batch.

The other methods of notebook 06 (rl.methods, rl.ppo_trainer) are this loop with one of its parts swapped,
the parts of the paper's Table 10: `collect_fn` (the data source), `advantage_fn` (the gradient coefficient,
(N,) or (N, T)) or `update_fn` (a loss that is not GRPO's); None keeps GRPO's own, so the defaults are unchanged.

Logged per step (history and tracker): reward mean/std, accuracy (share of correct outputs by the grader),
the k3 KL to the reference, response length, clip fractions, the policy's mean token entropy on its samples,
the share of groups with all-equal rewards, the outputs trained on, the mean |advantage| per token (the
coefficient's size: an update_fn may report its own, as PPO's GAE does), and rollout / update seconds.
Every `eval_every` steps (and at step 0): greedy chat-CoT accuracy on `eval_problems` (eval.evaluate, the code
and records notebook 07 measures with: on the policy in memory, except that with `eval_cache` the step-0 check
is the cached evaluation of the checkpoint the policy was loaded from and the last one that of the saved final
policy), then a resumable state (policy, optimiser, history, RNG) written atomically to out/resume; a rerun
with the same `out` resumes from it. The final policy goes to out/model (card stage "rl"), history and
evaluations to out/history.json, the resolved config to out/config.json.

Departures from the paper at small scale (the values are the params file's, the code is the paper's): G,
the batch, the max length and the step count are far smaller; a 1M-parameter model needs a policy LR well
above the paper's 1e-6 to move in tens of steps; the reward is the rule itself, not a reward model trained
on it. AdamW without weight decay and a constant LR (the paper gives only the LR).
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from dsmath_lib.config import EvalConfig, GRPOConfig, SamplingConfig
from dsmath_lib.model import save_model
from dsmath_lib.problem import Problem
from dsmath_lib.rl.grpo import group_advantages, grpo_loss
from dsmath_lib.rl.rewards import RewardFn, outcome_rewards
from dsmath_lib.rl.rollout import Rollout, make_sampler, rollout, token_logprobs
from dsmath_lib.tracking import Tracker

HISTORY_FIELDS = ("step", "reward_mean", "reward_std", "accuracy", "kl", "response_length", "clip_frac",
                  "clip_low", "clip_high", "entropy", "zero_std_share", "groups", "outputs", "advantage_abs", "rounds",
                  "loss", "grad_norm", "rollout_s", "update_s")


@dataclass
class GRPOResult:
    """What a run leaves: the trained policy (also saved at `path`), per-step history, evaluation points."""

    policy: torch.nn.Module
    history: list[dict] = field(default_factory=list)  # one row per step, HISTORY_FIELDS
    evals: list[dict] = field(default_factory=list)  # {"step", "accuracy", "accuracy/<benchmark>"...}
    path: Path | None = None  # out/model
    data: dict = field(default_factory=dict)  # an offline method's dataset sizes (rl.methods: RFT, DPO)


def step_questions(n: int, k: int, step: int, seed: int) -> list[int]:
    """Indices of the k questions of `step`: consecutive slices of a seeded permutation per epoch.

    >>> epoch = step_questions(5, 2, 0, seed=0) + step_questions(5, 2, 1, seed=0) + step_questions(5, 2, 2, seed=0)
    >>> sorted(epoch[:5]), epoch[5] in range(5)   # every question once per epoch, then the next epoch
    ([0, 1, 2, 3, 4], True)
    """
    picks = []
    for position in range(step * k, (step + 1) * k):
        epoch, i = divmod(position, n)
        order = list(range(n))
        random.Random(f"grpo-questions:{seed}:{epoch}").shuffle(order)
        picks.append(order[i])
    return picks


def mean_abs_advantage(advantages: torch.Tensor, lengths: Sequence[int]) -> float:
    """Mean |A_t| over the completion tokens, the size of the coefficient the update scales the gradient by:
    advantages (N,) (one per output, on every token) or (N, T) (per token); lengths (N,) tokens per output.

    >>> mean_abs_advantage(torch.tensor([1.0, -3.0]), [3, 1])           # (3 x 1 + 1 x 3) / 4 tokens
    1.5
    >>> mean_abs_advantage(torch.tensor([[2.0, -2.0, 9.0], [1.0, 0.0, 0.0]]), [2, 1])   # 9.0 is padding
    1.6666666666666667
    """
    n_tokens = max(1, sum(lengths))
    if advantages.dim() == 1:
        return float(sum(abs(float(a)) * n for a, n in zip(advantages, lengths)) / n_tokens)
    return float(sum(float(advantages[i, :n].abs().sum()) for i, n in enumerate(lengths)) / n_tokens)


def _derived_seed(*parts) -> int:
    """A stable 62-bit seed from any parts (random.Random hashes strings with SHA-512)."""
    return random.Random(":".join(map(str, ("grpo", *parts)))).getrandbits(62)


def collect(sample, tokenizer, questions: Sequence[Problem], cfg: GRPOConfig, step: int, seed: int,
            reward_fn: RewardFn | None) -> tuple[Rollout, torch.Tensor, dict]:
    """Rollouts, rewards (B, G) and their statistics for one step; dynamic sampling refills dropped groups."""
    need, picks = cfg.questions_per_step, step_questions(len(questions), cfg.questions_per_step, step, seed)
    kept, kept_rewards, seen_rewards, seen_correct, rounds = [], [], [], [], 0
    while need > 0 and rounds < cfg.dynamic_sampling_rounds:
        batch = rollout(sample, tokenizer, [questions[i] for i in picks], cfg.group_size,
                        max_new_tokens=cfg.max_new_tokens, temperature=cfg.temperature,
                        seed=_derived_seed(seed, step, rounds))
        correct = outcome_rewards(batch.texts, batch.problems)
        rewards = correct if reward_fn is None else reward_fn(batch.texts, batch.problems)
        r = torch.tensor(rewards, dtype=torch.float32).view(-1, cfg.group_size)  # (b, G)
        seen_rewards.append(r)
        seen_correct.extend(correct)
        keep = list(range(r.size(0)))
        if cfg.dynamic_sampling_rounds > 1:  # DAPO's dynamic sampling: a group of equal rewards has no signal
            keep = [i for i in keep if r[i].max() > r[i].min()][:need]
        kept.append(batch.groups(keep))
        kept_rewards.append(r[keep])
        need -= len(keep)
        rounds += 1
        picks = random.Random(f"grpo-dapo:{seed}:{step}:{rounds}").sample(range(len(questions)),
                                                                          min(need, len(questions)))
    seen = torch.cat(seen_rewards)  # (all sampled groups, G)
    stats = {"reward_mean": float(seen.mean()), "reward_std": float(seen.std()) if seen.numel() > 1 else 0.0,
             "accuracy": sum(seen_correct) / len(seen_correct),
             "zero_std_share": float((seen.max(1).values == seen.min(1).values).float().mean()),
             "rounds": rounds, "groups": sum(r.size(0) for r in kept_rewards),
             "response_length": sum(len(c) for b in kept for c in b.completion_ids) / max(1, sum(map(len, kept)))}
    return Rollout.concat(kept, cfg.group_size), torch.cat(kept_rewards), stats


def _micro_batches(batch: Rollout, advantages: torch.Tensor, size: int, pad_id: int,
                   device: torch.device) -> list[dict]:
    """Rows cut into micro-batches on `device` (the policy's), each padded only to its own longest row. Sorted by
    prompt, so a group's rows stay together (token_logprobs runs a shared prompt once) and similar prompt lengths
    pad little."""
    order = sorted(range(len(batch)), key=lambda i: (len(batch.prompt_ids[i]), batch.prompt_ids[i],
                                                     len(batch.completion_ids[i]), i))
    out = []
    for start in range(0, len(order), size):
        rows = order[start : start + size]
        ids, att, comp = (t.to(device) for t in batch.tensors(rows, pad_id))
        adv = advantages[rows].to(device)  # (n,) per output, or (n, T_all) per token: cut to this micro-batch's width
        out.append({"ids": ids, "att": att, "comp": comp, "adv": adv[:, : comp.size(1)] if adv.dim() == 2 else adv})
    return out


@torch.no_grad()
def _frozen_logprobs(model, micro: list[dict], key: str) -> None:
    """log-probs of every micro-batch under a model that is not being updated (pi_old or pi_ref)."""
    was_training = model.training
    model.eval()
    for mb in micro:
        mb[key] = token_logprobs(model, mb["ids"], mb["att"], mb["comp"])
    model.train(was_training)


def update(policy, ref, batch: Rollout, advantages: torch.Tensor, cfg: GRPOConfig, optimizer,
           pad_id: int) -> dict:
    """mu passes of micro-batched AdamW steps on the GRPO loss; returns token-weighted means of its stats."""
    n_seqs, n_tokens = len(batch), sum(batch.lengths)
    micro = _micro_batches(batch, advantages, cfg.micro_batch_size, pad_id, next(policy.parameters()).device)
    if cfg.beta != 0:
        _frozen_logprobs(ref, micro, "ref")
    if cfg.updates_per_step > 1:  # pi_old = the policy before this step's first update
        _frozen_logprobs(policy, micro, "old")
    policy.eval()  # dropout off (trl: disable_dropout): the ratio must compare like with like; grads still flow
    sums = {"kl": 0.0, "clip_frac": 0.0, "clip_low": 0.0, "clip_high": 0.0, "entropy": 0.0, "tokens": 0.0}
    first_loss, grad_norm = 0.0, 0.0
    for mu in range(cfg.updates_per_step):
        optimizer.zero_grad(set_to_none=True)
        for mb in micro:
            logp, entropy = token_logprobs(policy, mb["ids"], mb["att"], mb["comp"], return_entropy=True)
            old = mb.get("old", logp.detach())  # mu = 1: pi_old is pi_theta, the ratio is exactly 1
            loss, stats = grpo_loss(logp, old, mb.get("ref"), mb["adv"], mb["comp"], cfg.loss_normaliser, cfg.clip_eps,
                                    cfg.clip_eps_high, cfg.beta, max_len=cfg.max_new_tokens, n_seqs=n_seqs,
                                    n_tokens=n_tokens)
            loss.backward()
            for key in ("kl", "clip_frac", "clip_low", "clip_high"):
                sums[key] += stats[key] * stats["tokens"]
            sums["tokens"] += stats["tokens"]
            if mu == 0:
                sums["entropy"] += float(entropy.sum()) * cfg.updates_per_step  # weighed like the others
                first_loss += float(loss.detach())
        grad_norm = float(torch.nn.utils.clip_grad_norm_(policy.parameters(), cfg.grad_clip))
        optimizer.step()
    tokens = max(sums.pop("tokens"), 1.0)
    means = {k: v / tokens for k, v in sums.items()}
    if cfg.beta == 0:
        means["kl"] = float("nan")  # no reference forward was run: the KL was not measured
    return {**means, "loss": first_loss, "grad_norm": grad_norm}


def policy_spec(problems: Sequence[Problem], max_new_tokens: int, batch_size: int = 64,
                eval_cfg: EvalConfig | None = None):
    """The held-out checks' EvalSpec: `problems` grouped by benchmark, greedy zero-shot chat CoT, at most
    max_new_tokens; evaluating a saved policy with it (and a cache) gives the records its last check counted.

    >>> from dsmath_lib.problem import Problem
    >>> ps = [Problem(f"{b}/{i}", b, "1 + 0?", "The answer is 1.", "1", "numeric") for i, b in enumerate("bab")]
    >>> spec = policy_spec(ps, max_new_tokens=32)
    >>> {b: len(v) for b, v in spec.benchmarks.items()}, spec.modes, spec.n_samples
    ({'b': 2, 'a': 1}, ('cot-chat',), 0)
    """
    from dsmath_lib.eval.evaluate import EvalSpec

    benchmarks: dict[str, list[Problem]] = {}
    for p in problems:
        benchmarks.setdefault(p.benchmark, []).append(p)
    return EvalSpec(benchmarks, modes=("cot-chat",), limits=eval_cfg or EvalConfig(),
                    sampling=SamplingConfig(max_new_tokens=max_new_tokens, batch_size=batch_size))


def evaluate_policy(policy, tokenizer, problems: Sequence[Problem], max_new_tokens: int, batch_size: int = 64,
                    eval_cfg: EvalConfig | None = None, checkpoint: str | Path | None = None,
                    cache_dir: str | Path | None = None) -> dict:
    """Greedy zero-shot chat-CoT accuracy, overall and per benchmark: eval.evaluate of policy_spec (notebook 07's
    top-1 measure, the same code and records); eval_cfg gives the sandbox and grading limits (default:
    EvalConfig's). With `checkpoint`, a saved copy of `policy`, and `cache_dir`, it is the cached evaluation of
    that checkpoint (decoded only if no stage has decoded it with these settings); else the policy in memory."""
    from dsmath_lib.eval.evaluate import evaluate

    spec = policy_spec(problems, max_new_tokens, batch_size, eval_cfg)
    benchmarks = spec.benchmarks
    model = checkpoint if checkpoint is not None and cache_dir is not None else (policy, tokenizer)
    records = evaluate(model, spec, cache_dir=cache_dir, name="policy")
    result = {"accuracy": sum(r.correct for r in records) / len(records)}
    for name in sorted(benchmarks):
        hits = [r.correct for r in records if r.benchmark == name]
        result[f"accuracy/{name}"] = sum(hits) / len(hits)
    return result


def _save_state(path: Path, policy, optimizer, step: int, history: list, evals: list) -> None:
    """The resume point, written to a temporary sibling and renamed over the previous one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    torch.save({"step": step, "policy": policy.state_dict(), "optimizer": optimizer.state_dict(),
                "history": history, "evals": evals, "rng": torch.get_rng_state()}, tmp)
    os.replace(tmp, path)


def _load_state(path: Path, policy, optimizer) -> tuple[int, list, list]:
    """(step, history, evals) from a resume point, restoring policy, optimiser and RNG; (0, [], []) if none."""
    if not path.is_file():
        return 0, [], []
    try:
        # onto the policy's device: a state saved on a GPU resumes on a CPU and the other way round
        state = torch.load(path, weights_only=False, map_location=next(policy.parameters()).device)
    except Exception as err:  # noqa: BLE001 - a damaged file must name itself
        raise RuntimeError(f"{path}: unreadable GRPO resume state ({err}); delete it to start over") from err
    policy.load_state_dict(state["policy"])
    optimizer.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["rng"].cpu())  # the CPU generator's state, wherever the tensors went
    return state["step"], state["history"], state["evals"]


def _check(cfg: GRPOConfig, questions: Sequence[Problem]) -> None:
    if not questions:
        raise ValueError("train_grpo: no RL questions (the world's train split or sft.source gave none)")
    for key in ("questions_per_step", "group_size", "micro_batch_size", "updates_per_step", "eval_every",
                "max_new_tokens", "dynamic_sampling_rounds"):
        if getattr(cfg, key) < 1:
            raise ValueError(f"grpo.{key} = {getattr(cfg, key)}: must be >= 1")


def train_grpo(policy, ref, tokenizer, questions: Sequence[Problem], cfg: GRPOConfig, out: str | Path,
               eval_problems: Sequence[Problem] = (), tracker: Tracker | None = None, seed: int = 0,
               progress: bool = True, reward_fn: RewardFn | None = None,
               eval_cfg: EvalConfig | None = None, *, collect_fn=None, advantage_fn=None, update_fn=None,
               card: dict | None = None, eval_cache: str | Path | None = None,
               init_checkpoint: str | Path | None = None) -> GRPOResult:
    """Train `policy` with GRPO on `questions` (ref: the frozen reference model); resumable in `out`.

    reward_fn(texts, problems) -> rewards replaces the outcome reward (None: the grader, as in the paper);
    accuracy is always the grader's. eval_cfg: the held-out checks' grading limits (params.eval).
    eval_cache (the evaluation cache folder): the step-0 check evaluates `init_checkpoint`, the checkpoint
    `policy` was loaded from, and the last check the saved final policy, through the cache, so neither is
    decoded again where another stage (04, another method's run, 06's final scores) evaluates the same model.

    The paradigm's three parts (paper Table 10) can be swapped, each None for GRPO's own (rl.methods uses them):
    collect_fn(sample, step) -> (Rollout, rewards (B, G), stats), the data source (default `collect`);
    advantage_fn(batch, rewards) -> (N,) or (N, T), the gradient coefficient (default group_advantages);
    update_fn, `update`'s signature and stats (extra stat keys are kept in the history after HISTORY_FIELDS);
    card: fields over the saved model's card ("description" also names the progress bar)."""
    _check(cfg, questions)
    out, tracker = Path(out), tracker or Tracker()
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps({"grpo": asdict(cfg), "seed": seed}, indent=1) + "\n")
    n_steps = cfg.steps or math.ceil(len(questions) / cfg.questions_per_step)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    optimizer = torch.optim.AdamW(policy.parameters(), lr=cfg.lr, weight_decay=0.0)
    state_path = out / "resume" / "state.pt"
    start, history, evals = _load_state(state_path, policy, optimizer)
    ref.eval().requires_grad_(False)
    sample = make_sampler(cfg.rollout_engine, policy, tokenizer, cfg.rollout_batch_size, out)

    def evaluate(step: int, checkpoint: str | Path | None = None) -> None:
        if eval_problems:
            evals.append({"step": step, **evaluate_policy(policy, tokenizer, eval_problems, cfg.max_new_tokens,
                                                          cfg.rollout_batch_size, eval_cfg, checkpoint, eval_cache)})
            tracker.log({f"eval/{k}": v for k, v in evals[-1].items() if k != "step"}, step=step)

    if start == 0 and not evals:
        evaluate(0, init_checkpoint)
    card = {"name": out.name, "notebook": "05_grpo", "stage": "rl", "description": f"GRPO ({cfg.variant}), "
            f"{n_steps} steps of {cfg.questions_per_step} x G={cfg.group_size}"} | (card or {})
    bar = tqdm(total=n_steps, initial=start, desc=card["description"].split(",")[0], disable=not progress)
    path = None  # out/model, once the final policy is saved
    for step in range(start, n_steps):
        t0 = time.perf_counter()
        batch, rewards, row = (collect_fn(sample, step) if collect_fn else
                               collect(sample, tokenizer, questions, cfg, step, seed, reward_fn))
        t1 = time.perf_counter()
        row["outputs"] = len(batch)  # outputs trained on this step (DPO: both outputs of every pair)
        if len(batch):  # empty: every group dropped (dynamic sampling), or an offline method without data
            advantages = (advantage_fn(batch, rewards) if advantage_fn  # (N,) or (N, T)
                          else group_advantages(rewards, scale=cfg.scale_rewards).flatten())
            row["advantage_abs"] = mean_abs_advantage(advantages, batch.lengths)
            row |= (update_fn or update)(policy, ref, batch, advantages, cfg, optimizer, pad_id)
        row |= {"step": step + 1, "rollout_s": t1 - t0, "update_s": time.perf_counter() - t1}
        keys = HISTORY_FIELDS + tuple(sorted(set(row) - set(HISTORY_FIELDS)))  # a method's own stats last
        history.append({k: row.get(k, float("nan")) for k in keys})  # nan: no group to train on
        tracker.log({f"train/{k}": v for k, v in history[-1].items() if k != "step"}, step=step + 1)
        bar.update(1)
        bar.set_postfix(reward=f"{row['reward_mean']:.3f}", kl=f"{row.get('kl', 0):.4f}")
        if (step + 1) % cfg.eval_every == 0 or step + 1 == n_steps:
            if step + 1 == n_steps:  # the final policy is saved first: its check is the saved model's evaluation
                path = save_model(policy, tokenizer, out / "model", card=card)
            evaluate(step + 1, path)
            _save_state(state_path, policy, optimizer, step + 1, history, evals)
    bar.close()
    path = path or save_model(policy, tokenizer, out / "model", card=card)  # a finished run met again
    (out / "history.json").write_text(json.dumps({"history": history, "evals": evals}, indent=1) + "\n")
    return GRPOResult(policy, history, evals, path)
