"""What a training run is (TrainSpec) and what it returns (TrainResult), both plain JSON.

    from dsmath_lib.train.spec import TrainSpec, pretrain_spec, sft_spec
    spec = pretrain_spec(params.pretrain, params.model, init=..., out=..., data=[...], tokens=...)
    spec = sft_spec(params.sft, init=..., out=..., data=[...], length=params.model.context_length)
    spec.to_json(path); TrainSpec.from_json(path)      # what `python -m dsmath_lib.train spec.json` reads

A spec holds every number the loop uses, so a run is reproducible from its spec.json alone and a
resumed run can check, by `digest()`, that it continues the same run. The config sections
(PretrainConfig, SFTConfig) map onto specs through the two small builders below; the size's derived
learning rate is resolved there, never inside the loop.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from dsmath_lib.config import ModelConfig, PretrainConfig, SFTConfig
from dsmath_lib.model import model_size


@dataclass
class TrainSpec:
    """One training run: causal-LM pretraining on a token mixture, or SFT on loss-masked rows."""

    init: str  # checkpoint folder (save_model) to start from: model and tokenizer
    out: str  # run folder: final/ (the checkpoint), resume/, curve/<tokens>/, result.json, spec.json
    data: list[str]  # packed-data paths (packing.write_packed); all of the same row length
    tokens: int  # training tokens; steps = ceil(tokens / (batch_size * length))
    weights: list[float] = field(default_factory=list)  # mixture shares in sequences, one per data path; [] = equal
    batch_size: int = 512  # sequences per optimiser step, over all processes
    micro_batch_size: int = 8  # sequences per forward/backward on one process
    lr: float = 0.0  # peak LR; must be > 0 (the builders resolve the size's derived LR)
    warmup_steps: int = 2000  # paper §2: 2,000 (clipped to the run's steps)
    decay_at: list[float] = field(default_factory=lambda: [0.8, 0.9])  # paper §2; [] = constant LR (SFT)
    decay_to: list[float] = field(default_factory=lambda: [0.316, 0.1])  # paper §2: 31.6%, then 10% of peak
    betas: list[float] = field(default_factory=lambda: [0.9, 0.95])  # AdamW (paper §2)
    weight_decay: float = 0.1  # AdamW, on 2-D weights only (paper §2: 0.1)
    grad_clip: float = 1.0  # global gradient-norm clip; 0 = off
    mixed_precision: str = "no"  # accelerate's: "no", "bf16", "fp16"
    seed: int = 0  # data order (and nothing else: the init checkpoint fixes the weights)
    checkpoint_every: int = 200  # optimiser steps between resumable checkpoints (out/resume)
    curve_points: int = 0  # k: also save the model at k evenly spaced token counts (out/curve/<tokens>)
    card: dict = field(default_factory=dict)  # written into the final checkpoint's dsmath.json

    def validate(self) -> None:
        """Raise ValueError naming the field of a spec the loop cannot run."""
        if not self.data:
            raise ValueError("TrainSpec.data: no packed-data paths given")
        if self.weights and len(self.weights) != len(self.data):
            raise ValueError(f"TrainSpec.weights: {len(self.weights)} weights for {len(self.data)} data paths")
        if self.lr <= 0:
            raise ValueError(f"TrainSpec.lr must be > 0 (got {self.lr}); resolve the size's LR before training "
                             "(pretrain_spec does)")
        if self.tokens <= 0 or self.batch_size <= 0 or self.micro_batch_size <= 0:
            raise ValueError(f"TrainSpec: tokens, batch_size and micro_batch_size must be > 0 "
                             f"(got {self.tokens}, {self.batch_size}, {self.micro_batch_size})")
        if self.checkpoint_every <= 0 or self.curve_points < 0:
            raise ValueError(f"TrainSpec: checkpoint_every must be > 0 and curve_points >= 0 "
                             f"(got {self.checkpoint_every}, {self.curve_points})")
        if self.mixed_precision not in ("no", "bf16", "fp16"):
            raise ValueError(f"TrainSpec.mixed_precision must be 'no', 'bf16' or 'fp16', got {self.mixed_precision!r}")
        if len(self.betas) != 2:
            raise ValueError(f"TrainSpec.betas must be [beta1, beta2], got {self.betas}")

    def digest(self) -> str:
        """A short hash of everything that decides the trained weights and outputs.

        `out` is left out (a run folder may be moved) and so is `checkpoint_every` (resuming from a
        different cadence continues the same run).
        """
        blob = {k: v for k, v in dataclasses.asdict(self).items() if k not in ("out", "checkpoint_every")}
        return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()[:16]

    def to_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(dataclasses.asdict(self), indent=1) + "\n")
        return path

    @classmethod
    def from_json(cls, path: str | Path) -> TrainSpec:
        """Read a spec file; unknown or missing keys are an error naming the file."""
        path = Path(path)
        try:
            raw = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise ValueError(f"{path}: cannot read a training spec ({err})") from err
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"{path}: unknown training-spec key '{unknown[0]}' (known: {', '.join(sorted(known))})")
        try:
            return cls(**raw)
        except TypeError as err:
            raise ValueError(f"{path}: {err}") from err


@dataclass
class TrainResult:
    """What a run produced: the final checkpoint, the per-step history and the throughput."""

    checkpoint: str  # out/final
    history: list[dict]  # one {step, tokens, loss, lr, tokens_per_s} per optimiser step
    steps: int
    tokens: int  # tokens trained on (steps * batch_size * length)
    final_loss: float
    tokens_per_s: float  # over the whole run, resumed sessions included
    wall_time_s: float
    curve: list[str] = field(default_factory=list)  # out/curve/<tokens> checkpoints, in token order

    @classmethod
    def from_json(cls, path: str | Path) -> TrainResult:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no training result here; the run did not finish")
        return cls(**json.loads(path.read_text()))


def pretrain_spec(cfg: PretrainConfig, model: ModelConfig, *, init: str | Path, out: str | Path, data: list,
                  tokens: int, weights: list[float] | None = None, seed: int = 0, card: dict | None = None,
                  curve_points: int | None = None) -> TrainSpec:
    """A pretraining spec from params.pretrain; lr 0 there means the model size's derived LR."""
    lr = cfg.lr or (model_size(model.size).lr if not model.pretrained else 0.0)
    if lr <= 0:
        raise ValueError("pretrain.lr is 0 and model.pretrained has no derived LR: set pretrain.lr in the params file")
    return TrainSpec(init=str(init), out=str(out), data=[str(d) for d in data], tokens=tokens,
                     weights=list(weights or []), batch_size=cfg.batch_size, micro_batch_size=cfg.micro_batch_size,
                     lr=lr, warmup_steps=cfg.warmup_steps, decay_at=list(cfg.decay_at), decay_to=list(cfg.decay_to),
                     betas=list(cfg.betas), weight_decay=cfg.weight_decay, grad_clip=cfg.grad_clip,
                     mixed_precision=cfg.mixed_precision, seed=seed, checkpoint_every=cfg.checkpoint_every,
                     curve_points=cfg.eval_points if curve_points is None else curve_points, card=dict(card or {}))


def sft_spec(cfg: SFTConfig, *, init: str | Path, out: str | Path, data: list, length: int, seed: int = 0,
             card: dict | None = None, mixed_precision: str = "no", checkpoint_every: int = 200) -> TrainSpec:
    """An SFT spec from params.sft: cfg.steps steps of cfg.batch_size packed rows of `length`, at a constant LR
    unless cfg.decay_at asks for steps down.

    SFTConfig has no mixed_precision or checkpoint cadence of its own: pass params.pretrain's.
    """
    return TrainSpec(init=str(init), out=str(out), data=[str(d) for d in data],
                     tokens=cfg.steps * cfg.batch_size * length, batch_size=cfg.batch_size,
                     micro_batch_size=cfg.micro_batch_size, lr=cfg.lr, warmup_steps=cfg.warmup_steps,
                     decay_at=list(cfg.decay_at), decay_to=list(cfg.decay_to), weight_decay=cfg.weight_decay, grad_clip=cfg.grad_clip,
                     mixed_precision=mixed_precision, seed=seed, checkpoint_every=checkpoint_every,
                     card=dict(card or {}))
