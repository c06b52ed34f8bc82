"""The training loop: causal-LM pretraining on a token mixture, or SFT on loss-masked rows, via accelerate.

    from dsmath_lib.train import TrainSpec, train
    result = train(spec, tracker=tracker)      # in-process; `python -m dsmath_lib.train spec.json` under
    result.checkpoint, result.history          # `accelerate launch` runs the same function on every process

One optimiser step consumes one global batch of `batch_size` packed rows, the same rows whatever the
number of processes: the mixture (mixture.py) fixes the batch from (seed, step), each process takes its
contiguous share, and accelerate accumulates gradients over that share in micro-batches. The loss is the
mean token cross-entropy over the global batch's loss tokens (every target token in pretraining; response
tokens in SFT). AdamW (paper §2: betas 0.9/0.95, weight decay 0.1) decays 2-D weights only, the usual
GPT rule: linear weights and the (tied) embedding are decayed, RMSNorm gains are not (Llama has no
biases). The LR follows schedule.multistep_lr. Resumable: see checkpoint.py for the run folder.

Departures from the paper: packed rows carry no cross-document attention mask (the paper does not say;
most pretraining code does the same); no evaluation inside the loop: learning-curve checkpoints are
saved under out/curve/ and evaluated afterwards by the notebook, so stages talk through disk only.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from accelerate import Accelerator
from tqdm.auto import tqdm

from dsmath_lib.model import load_model
from dsmath_lib.train import checkpoint as ckpt
from dsmath_lib.train.mixture import Mixture
from dsmath_lib.train.packing import PackedData, read_packed
from dsmath_lib.train.schedule import lr_scheduler
from dsmath_lib.train.spec import TrainResult, TrainSpec


def load_sources(paths: list[str]) -> tuple[list[PackedData], int]:
    """The packed sources of a run and their common row length; mixed lengths are an error."""
    sources = [read_packed(p) for p in paths]
    lengths = {s.length for s in sources}
    if len(lengths) != 1:
        detail = ", ".join(f"{s.path}: {s.length}" for s in sources)
        raise ValueError(f"training data must share one row length; got {detail}")
    return sources, lengths.pop()


def adamw(model: torch.nn.Module, spec: TrainSpec) -> torch.optim.AdamW:
    """AdamW with weight decay on 2-D weights (matmuls, embedding) and none on norms or biases."""
    params = [p for p in model.parameters() if p.requires_grad]  # tied weights appear once
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": spec.weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=spec.lr, betas=tuple(spec.betas))


def global_batch(sources: list[PackedData], mixture: Mixture, step: int) -> tuple[np.ndarray, np.ndarray]:
    """(ids, loss_mask) of step `step`'s global batch, each (batch_size, length); the mask is 1 where a
    token is a training target (all tokens of a source without a mask)."""
    source, rows = mixture.batch(step)
    length = sources[0].length
    ids = np.empty((len(rows), length), dtype=np.int64)
    mask = np.ones((len(rows), length), dtype=np.float32)
    for i in np.unique(source):
        where = np.flatnonzero(source == i)
        data = sources[i]
        ids[where] = data.ids[rows[where]]
        if data.loss_mask is not None:
            mask[where] = data.loss_mask[rows[where]]
    return ids, mask


def token_loss_sum(model, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Summed next-token cross-entropy over the masked targets of ids (b, L); a scalar."""
    logits = model(input_ids=ids).logits[:, :-1]  # (b, L-1, V): position t predicts token t+1
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), ids[:, 1:].reshape(-1),
                         reduction="none")  # (b * (L-1),)
    return (ce * mask[:, 1:].reshape(-1)).sum()


def train_step(accelerator: Accelerator, model, optimizer, ids: np.ndarray, mask: np.ndarray,
               spec: TrainSpec) -> float:
    """One optimiser step on a global batch (every process passes the whole batch); the global mean loss.

    Normalisation: each micro-batch's summed token loss is divided by the number of loss tokens in the
    whole global batch (known to every process, which sees the whole batch), so the micro-batch terms
    add up over micro-batches and processes to exactly the global mean. A per-micro-batch mean would
    weight a token by the size of its micro-batch (SFT rows hold different numbers of response tokens),
    and 1 and 2 processes would then train differently. accelerator.backward divides by the accumulation
    steps and DDP averages over processes, so the term is multiplied back by both (the recipe of
    accelerate's guide "gradient accumulation on training samples of variable size").
    """
    n_proc, rank = accelerator.num_processes, accelerator.process_index
    share = spec.batch_size // n_proc
    mine = slice(rank * share, (rank + 1) * share)
    n_loss = max(float(mask[:, 1:].sum()), 1.0)  # targets in the global batch
    scale = accelerator.gradient_accumulation_steps * n_proc
    total = torch.zeros((), device=accelerator.device)
    for lo in range(mine.start, mine.stop, spec.micro_batch_size):
        part = slice(lo, lo + spec.micro_batch_size)
        ids_t = torch.from_numpy(ids[part]).to(accelerator.device)  # (micro, L)
        mask_t = torch.from_numpy(mask[part]).to(accelerator.device)  # (micro, L)
        with accelerator.accumulate(model):
            loss = token_loss_sum(model, ids_t, mask_t) / n_loss
            accelerator.backward(loss * scale)
            if accelerator.sync_gradients and spec.grad_clip > 0:
                accelerator.clip_grad_norm_(model.parameters(), spec.grad_clip)
            optimizer.step()  # accelerate skips it until the last micro-batch of the step
            optimizer.zero_grad(set_to_none=True)
        total += loss.detach()
    return accelerator.reduce(total, reduction="sum").item()


def curve_steps(steps: int, points: int) -> list[int]:
    """Steps after which a learning-curve checkpoint is saved: `points` evenly spaced in tokens.

    >>> curve_steps(10, 4), curve_steps(3, 5)
    ([2, 5, 8, 10], [1, 2, 3])
    """
    return sorted({max(1, round(j * steps / points)) for j in range(1, points + 1)}) if points else []


@dataclass
class _Run:
    """The live objects of one training run, as `_prepare` builds them."""

    spec: TrainSpec
    accelerator: Accelerator
    model: torch.nn.Module  # as prepared by accelerate (DDP/FSDP-wrapped when distributed)
    tokenizer: object
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    mixture: Mixture
    sources: list[PackedData]
    length: int  # tokens per row


def _prepare(spec: TrainSpec, accelerator: Accelerator, sources: list[PackedData], length: int) -> _Run:
    """Model, tokenizer, optimizer, scheduler and mixture of a run, prepared by `accelerator`."""
    steps = math.ceil(spec.tokens / (spec.batch_size * length))
    n_proc = accelerator.num_processes
    if spec.batch_size % (spec.micro_batch_size * n_proc):
        raise ValueError(f"TrainSpec.batch_size {spec.batch_size} is not a multiple of micro_batch_size "
                         f"{spec.micro_batch_size} x {n_proc} processes")
    # The accumulation count needs the number of processes, which only the Accelerator knows for sure
    # (a bare PartialState ignores ACCELERATE_USE_CPU and would see one process on a CPU launch), hence
    # the setter rather than Accelerator(gradient_accumulation_steps=...).
    accelerator.gradient_accumulation_steps = spec.batch_size // (spec.micro_batch_size * n_proc)
    model, tokenizer = load_model(spec.init)
    if length > model.config.max_position_embeddings:
        raise ValueError(f"training rows of {length} tokens exceed the context of {spec.init} "
                         f"({model.config.max_position_embeddings})")
    model.train()
    if accelerator.state.deepspeed_plugin is not None:
        # DeepSpeed reads the micro-batch size from a prepared DataLoader; this loop batches by itself
        accelerator.state.deepspeed_plugin.deepspeed_config["train_micro_batch_size_per_gpu"] = spec.micro_batch_size
    optimizer = adamw(model, spec)
    scheduler = lr_scheduler(optimizer, steps, spec.warmup_steps, spec.decay_at, spec.decay_to)
    model, optimizer = accelerator.prepare(model, optimizer)
    # The scheduler is stepped by hand once per update and not prepared: accelerate's wrapper would step
    # it once per process (it assumes per-process batches), running a 2-process schedule twice as fast.
    accelerator.register_for_checkpointing(scheduler)
    weights = spec.weights or [1.0] * len(sources)
    mixture = Mixture([s.rows for s in sources], weights, spec.batch_size, steps, spec.seed)
    return _Run(spec, accelerator, model, tokenizer, optimizer, scheduler, mixture, sources, length)


def train(spec: TrainSpec, tracker=None, progress: bool = True, fresh: bool = False) -> TrainResult:
    """Run (or resume, or return the finished result of) the training run `spec` describes.

    `tracker` (dsmath_lib.tracking.Tracker or None) gets loss, lr, tokens and tokens/s every step from
    the main process. `fresh=True` discards whatever `spec.out` holds; otherwise a run of another spec
    there is an error naming the folder.
    """
    spec.validate()
    out, digest = Path(spec.out), spec.digest()
    accelerator = Accelerator(mixed_precision=spec.mixed_precision)
    if fresh and accelerator.is_main_process:
        ckpt.clear(out)
    accelerator.wait_for_everyone()
    done = ckpt.finished(out, digest)
    if done is not None:
        return done
    resume = ckpt.load_progress(out, digest)
    sources, length = load_sources(spec.data)
    live = _prepare(spec, accelerator, sources, length)
    if accelerator.is_main_process:
        spec.to_json(out / "spec.json")
    state = {"step": 0, "history": [], "wall_time_s": 0.0, "spec_digest": digest}
    if resume is not None:
        folder, state = resume
        accelerator.load_state(str(folder))
    _run_steps(live, state, tracker, progress)
    return _finish(live, state)


def _run_steps(live: _Run, state: dict, tracker, progress: bool) -> None:
    """Steps state["step"]..steps-1, updating `state` (step, history, wall time) as each finishes."""
    spec, accelerator, steps = live.spec, live.accelerator, live.mixture.steps
    tokens_per_step = spec.batch_size * live.length
    curve = curve_steps(steps, spec.curve_points)
    main = accelerator.is_main_process
    session_start, wall_before = time.perf_counter(), state["wall_time_s"]
    bar = tqdm(total=steps, initial=state["step"], desc=f"train {Path(spec.out).name}", unit="step",
               disable=not (progress and main))
    with bar:
        for step in range(state["step"], steps):
            t0 = time.perf_counter()
            ids, mask = global_batch(live.sources, live.mixture, step)
            lr = live.scheduler.get_last_lr()[0]  # the LR of this update
            loss = train_step(accelerator, live.model, live.optimizer, ids, mask, spec)
            live.scheduler.step()
            done = step + 1
            record = {"step": done, "tokens": done * tokens_per_step, "loss": loss, "lr": lr,
                      "tokens_per_s": tokens_per_step / (time.perf_counter() - t0)}
            state.update(step=done, wall_time_s=wall_before + time.perf_counter() - session_start)
            state["history"].append(record)
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}", tok_s=f"{record['tokens_per_s']:,.0f}")
            if tracker is not None and main:
                tracker.log({f"train/{k}": v for k, v in record.items() if k != "step"}, step=done)
            if done in curve:
                card = {**spec.card, "tokens": record["tokens"], "steps": done, "spec_digest": state["spec_digest"],
                        "curve_point": curve.index(done) + 1}
                path = ckpt.curve_dir(spec.out, record["tokens"])
                ckpt.save_checkpoint(accelerator, live.model, live.tokenizer, path, card)
            if done % spec.checkpoint_every == 0 or done == steps:
                ckpt.save_resume(accelerator, spec.out, state)


def _finish(live: _Run, state: dict) -> TrainResult:
    """The final checkpoint with its card, and out/result.json (the marker of a finished run)."""
    spec, accelerator = live.spec, live.accelerator
    history, steps, wall = state["history"], state["step"], state["wall_time_s"]
    tokens = steps * spec.batch_size * live.length
    result = TrainResult(
        checkpoint=str(ckpt.final_dir(spec.out)), history=history, steps=steps, tokens=tokens,
        final_loss=history[-1]["loss"] if history else float("nan"),
        tokens_per_s=tokens / wall if wall > 0 else 0.0, wall_time_s=wall,
        curve=[str(ckpt.curve_dir(spec.out, s * spec.batch_size * live.length))
               for s in curve_steps(steps, spec.curve_points)])
    card = {**spec.card, "init": spec.init, "data": spec.data, "weights": spec.weights, "tokens": tokens,
            "steps": steps, "final_loss": result.final_loss, "tokens_per_s": result.tokens_per_s,
            "wall_time_s": wall, "spec_digest": state["spec_digest"]}
    ckpt.save_checkpoint(accelerator, live.model, live.tokenizer, ckpt.final_dir(spec.out), card)
    if accelerator.is_main_process:
        ckpt.write_result(spec.out, result)
    accelerator.wait_for_everyone()
    return result
