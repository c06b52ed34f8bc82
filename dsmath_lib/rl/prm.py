"""The process reward model (paper §4.1.3): a scalar head on the policy's architecture, trained Math-Shepherd style.

    from dsmath_lib.rl.prm import build_prm, train_prm, prm_metrics, step_rewards, save_prm, load_prm
    prm = build_prm(checkpoints / "instruct")           # that model's trunk and a new scalar head
    history = train_prm(prm, tokenizer, examples, lr=2e-5, epochs=1, batch_size=8)   # [{"step", "epoch", "loss"}]
    prm_metrics(prm, tokenizer, held_out)               # {"accuracy", "auc", "steps", "positive_share"}
    rewards, ends = step_rewards(prm, tokenizer, batch.prompt_ids, batch.completion_ids)
    adv = process_advantages(rewards[a:b], ends[a:b], length=T)        # rl.process, one group's rows a..b-1
    save_prm(prm, tokenizer, out / "prm"); prm, tokenizer = load_prm(out / "prm")

`examples` are rl.prm_labels.PRMExample: a prompt, a sampled solution, its step ends and one label per step.

The model is transformers' AutoModelForTokenClassification with num_labels=1 (LlamaForTokenClassification,
Qwen2ForTokenClassification: the base model, then nn.Linear(hidden, 1) at every position), so
save_pretrained / from_pretrained work unchanged and the trunk loads from any causal-LM checkpoint of the
family. Its score of step j is its output at the step's last token, completion index step_ends[j] - 1, the
position that has read the whole step (rl.prm_labels: the token holding the step's newline, or the
output's last token for the last step). Training: binary cross-entropy with logits at those positions
only, against hard (0/1) or soft ([0, 1]) labels, averaged over every step of the batch, then AdamW.

step_rewards returns the probability sigmoid(logit), Math-Shepherd's step score, not the logit:
rl.process normalises the group's step rewards by their mean and std, and bounded rewards keep one
over-confident step from dominating that std the way an unbounded logit can.

Departures from the paper: its initial reward models start from DeepSeekMath-Base 7B (§4.2); build_prm
takes whichever causal-LM checkpoint the caller names (base or SFT). The paper gives the learning rate
(2e-5) only; batch size, epochs, weight decay 0, gradient clipping at 1.0 and a head without dropout
(HF's default is 0.1: the policy trunk was trained without dropout) are ours. A PRM's card has stage
"prm", which eval.checkpoints does not evaluate: keep PRMs in the RL run folder, not under checkpoints/.
"""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm
from transformers import AutoConfig, AutoModelForTokenClassification

from dsmath_lib.model import compute_device, save_model
from dsmath_lib.rl.prm_labels import PRMExample, step_ends
from dsmath_lib.rl.rollout import pad_rollout
from dsmath_lib.sampling import position_ids
from dsmath_lib.tokenizer import load_tokenizer


def _prm_config(config):
    """A copy of a causal LM's config for the scalar-head model: one output, no head dropout."""
    config = copy.deepcopy(config)
    config.num_labels = 1
    config.classifier_dropout = 0.0  # read by GenericForTokenClassification before its 0.1 default
    return config


def build_prm(source, dtype: str = "float32", seed: int = 0):
    """A PRM whose trunk is `source`'s (a causal-LM checkpoint folder or hub name, or a causal LM in memory)
    and whose scalar head is new, initialised from `seed` on the CPU without touching the global torch RNG.
    It is in `dtype` (float32: it is trained) on the source model's device, or compute_device() for a path."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if isinstance(source, (str, Path)):
            config = _prm_config(AutoConfig.from_pretrained(str(source)))
            return AutoModelForTokenClassification.from_pretrained(str(source), config=config,
                                                                   dtype=getattr(torch, dtype)).to(compute_device())
        prm = AutoModelForTokenClassification.from_config(_prm_config(source.config))
    prm.to(next(source.parameters()).device, getattr(torch, dtype))
    prm.base_model.load_state_dict(source.base_model.state_dict())  # copied on the device, cast to `dtype`
    return prm


def save_prm(prm, tokenizer, path: str | Path, card: dict | None = None) -> Path:
    """model.save_model (atomic, tokenizer beside the weights) with a card of stage "prm"."""
    return save_model(prm, tokenizer, path, card={"name": Path(path).name, "stage": "prm"} | (card or {}))


def load_prm(path: str | Path, dtype: str = "float32"):
    """(prm, tokenizer) from a folder written by save_prm; the PRM is in eval mode on compute_device()."""
    path = Path(path)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path}: no saved PRM here (config.json missing)")
    config = AutoConfig.from_pretrained(str(path))
    if config.num_labels != 1 or not any(a.endswith("ForTokenClassification") for a in config.architectures or []):
        raise ValueError(f"{path} holds a {config.architectures} model, not a PRM; build_prm({str(path)!r}) starts "
                         "one from it")
    prm = AutoModelForTokenClassification.from_pretrained(str(path), dtype=getattr(torch, dtype))
    return prm.to(compute_device()).eval(), load_tokenizer(path)


def token_scores(model, ids: torch.Tensor, att: torch.Tensor) -> torch.Tensor:
    """A scalar-head model's output at every position: ids, att (N, L) -> (N, L) float32 on the model's device,
    with grad when enabled. Position ids count real tokens, as the sampler's do. The PRM's step scores
    (step_logits) and PPO's values (rl.ppo_trainer.token_values) are columns of it."""
    pos = position_ids(att)  # (N, L)
    device = model.device
    out = model(input_ids=ids.to(device), attention_mask=att.to(device), position_ids=pos.to(device), use_cache=False)
    return out.logits[..., 0].float()  # (N, L)


def step_logits(prm, prompt_ids: Sequence[list[int]], completion_ids: Sequence[list[int]],
                ends: Sequence[Sequence[int]], pad_id: int = 0) -> torch.Tensor:
    """The PRM's logit at the last token of every step, rows in order: (S,) float32, S = total steps, with
    grad when enabled. Prompts are left-padded and completions right-padded (rl.rollout.pad_rollout)."""
    ids, att, comp = pad_rollout(list(prompt_ids), list(completion_ids), pad_id)  # (n, P + T), (n, P + T), (n, T)
    start = ids.size(1) - comp.size(1)  # P: column of completion token 0
    rows = [i for i, e in enumerate(ends) for _ in e]
    cols = [start + end - 1 for e in ends for end in e]  # the step's last token
    return token_scores(prm, ids, att)[rows, cols]  # (S,)


def prm_loss(prm, batch: Sequence[PRMExample], pad_id: int = 0) -> torch.Tensor:
    """Mean binary cross-entropy with logits over every step of the batch: -[y log s + (1 - y) log(1 - s)],
    s = sigmoid(logit at the step's end), y the hard or soft label. A scalar with grad."""
    logits = step_logits(prm, [e.prompt_ids for e in batch], [e.completion_ids for e in batch],
                         [e.step_ends for e in batch], pad_id)  # (S,)
    labels = torch.tensor([y for e in batch for y in e.labels], dtype=torch.float32, device=logits.device)  # (S,)
    return F.binary_cross_entropy_with_logits(logits, labels)


def train_prm(prm, tokenizer, examples: Sequence[PRMExample], *, lr: float = 2e-5, epochs: int = 1,
              batch_size: int = 8, max_steps: int | None = None, grad_clip: float = 1.0, seed: int = 0,
              progress: bool = True) -> list[dict]:
    """Train the PRM in place on step labels: `epochs` shuffled passes (order from `seed`) of AdamW steps on
    prm_loss, at most `max_steps` steps. lr: the paper's PRM learning rate is 2e-5. Returns the history,
    one {"step", "epoch", "loss"} per optimiser step; the PRM is left in eval mode."""
    examples = [e for e in examples if e.step_ends]
    if not examples:
        raise ValueError("train_prm: no example has a step to learn from")
    total = epochs * math.ceil(len(examples) / batch_size)
    total = total if max_steps is None else min(total, max_steps)
    optimizer = torch.optim.AdamW(prm.parameters(), lr=lr, weight_decay=0.0)
    pad_id, rng, history = tokenizer.pad_token_id or 0, random.Random(seed), []
    bar = tqdm(total=total, desc="prm", disable=not progress)
    prm.train()
    try:
        for epoch in range(epochs):
            order = rng.sample(range(len(examples)), len(examples))
            for start in range(0, len(order), batch_size):
                if len(history) == total:
                    break
                loss = prm_loss(prm, [examples[k] for k in order[start : start + batch_size]], pad_id)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(prm.parameters(), grad_clip)
                optimizer.step()
                history.append({"step": len(history) + 1, "epoch": epoch, "loss": loss.item()})
                bar.update()
                bar.set_postfix(loss=f"{history[-1]['loss']:.4f}")
    finally:
        bar.close()
        prm.eval()
    return history


@torch.no_grad()
def _step_probs(prm, prompt_ids, completion_ids, ends, pad_id: int, batch_size: int) -> list[list[float]]:
    """sigmoid(step_logits) per row, computed `batch_size` rows at a time: K_i floats for row i."""
    flat: list[float] = []
    for lo in range(0, len(completion_ids), batch_size):
        hi = lo + batch_size
        flat += torch.sigmoid(step_logits(prm, prompt_ids[lo:hi], completion_ids[lo:hi], ends[lo:hi], pad_id)).tolist()
    out, k = [], 0
    for e in ends:
        out.append(flat[k : k + len(e)])
        k += len(e)
    return out


def step_rewards(prm, tokenizer, prompts: Sequence[list[int]], completions: Sequence[list[int]],
                 batch_size: int = 16) -> tuple[list[list[float]], list[list[int]]]:
    """(step_rewards, step_ends) for rl.process.process_advantages: rewards[i][j] = sigmoid of the PRM's
    logit at the end of step j of output i, ends[i][j] that step's exclusive end in completion tokens.

    prompts, completions: token ids (Rollout.prompt_ids, Rollout.completion_ids), so the step ends index
    exactly the tokens the policy sampled. An output without a step gets ([], []).
    """
    was_training = prm.training
    prm.eval()
    try:
        ends = step_ends(tokenizer, completions)
        rewards = _step_probs(prm, list(prompts), list(completions), ends, tokenizer.pad_token_id or 0, batch_size)
    finally:
        prm.train(was_training)
    return rewards, ends


def auc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """ROC AUC: the chance that a random positive scores above a random negative, ties counting half
    (Mann-Whitney U / (n_pos n_neg), from average ranks); nan when a class is missing.

    >>> auc([0.1, 0.4, 0.35, 0.8], [False, False, True, True])
    0.75
    """
    n_pos = sum(map(bool, labels))
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    order = sorted(range(len(scores)), key=lambda k: scores[k])
    ranks = [0.0] * len(scores)
    lo = 0
    while lo < len(order):  # a run of equal scores shares the mean of its ranks (1-based)
        hi = lo
        while hi + 1 < len(order) and scores[order[hi + 1]] == scores[order[lo]]:
            hi += 1
        for r in range(lo, hi + 1):
            ranks[order[r]] = (lo + hi) / 2 + 1
        lo = hi + 1
    rank_sum = sum(r for r, y in zip(ranks, labels) if y)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def prm_metrics(prm, tokenizer, examples: Sequence[PRMExample], batch_size: int = 16) -> dict:
    """Held-out step-label quality: accuracy of sigmoid >= 0.5 against label >= 0.5 (a hard label is 0 or 1;
    a soft one is read as "more completions succeed than fail"), the AUC of the sigmoid against the same
    binary labels, the number of steps and the share of positive ones (the always-positive accuracy)."""
    was_training = prm.training
    prm.eval()
    try:
        probs = _step_probs(prm, [e.prompt_ids for e in examples], [e.completion_ids for e in examples],
                            [e.step_ends for e in examples], tokenizer.pad_token_id or 0, batch_size)
    finally:
        prm.train(was_training)
    scores = [p for row in probs for p in row]  # (S,)
    truth = [y >= 0.5 for e in examples for y in e.labels]  # (S,)
    if not scores:
        raise ValueError("prm_metrics: the examples hold no step")
    accuracy = sum((p >= 0.5) == y for p, y in zip(scores, truth)) / len(scores)
    return {"accuracy": accuracy, "auc": auc(scores, truth), "steps": len(scores),
            "positive_share": sum(truth) / len(truth)}
