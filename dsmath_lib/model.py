"""The model factory: named Llama sizes built from scratch, or a pretrained checkpoint, saved atomically.

    from dsmath_lib.model import MODEL_SIZES, build_model, save_model, load_model
    model = build_model(params.model, tokenizer, seed=params.seed)   # LlamaForCausalLM
    MODEL_SIZES[params.model.size].lr                                 # the size's suggested peak LR
    save_model(model, tokenizer, path); model, tokenizer = load_model(path, dtype=params.model.dtype)
    compute_device()                                                   # where models are put: accelerate's device

One name sets every coupled number: `ModelSize` holds width and depth, and derives
heads (fixed head width), the SwiGLU intermediate size and a peak learning rate, so a params file only
says `size: tiny`.

Every model this factory gives (built, loaded, or from the hub) is on `compute_device()`, accelerate's device
for this process (cuda when present, this process's GPU under `accelerate launch`; cpu otherwise), in the
dtype asked for (params `model.dtype`). On a CPU nothing moves and float32 stays float32. The RL trainers,
the PRM and the evaluation put their batches on their model's device, so this is the one place that picks it.

Departures from the paper at small scale: DeepSeekMath-Base starts from DeepSeek-Coder-Base-v1.5 7B
(§2.2); tiny models are Llama-architecture (RMSNorm, RoPE, SwiGLU, the same family) at 0.3-7M
parameters, trained from scratch, with tied input/output embeddings because at this size the
embedding is a large share of all parameters. At gpu/paper scale `cfg.pretrained` loads a real
checkpoint instead and `size` is ignored.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from accelerate import PartialState
from accelerate.utils import parse_flag_from_env
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerBase

from dsmath_lib.config import ModelConfig
from dsmath_lib.tokenizer import load_tokenizer

HEAD_DIM = 32  # fixed head width: heads grow with width, as in most Llama-family models
LR_ANCHOR = (128, 2e-3)  # (width, peak LR): a measured point, a 0.8M character-level Llama trained well at 2e-3
# (2.1M tokens of 1-3-step two-digit +/- chains in 4 CPU minutes: 14% on 1-step problems, still rising)


@dataclass(frozen=True)
class ModelSize:
    """A named model size: width and depth given, everything else derived from them.

    >>> s = ModelSize("tiny-s", d_model=128, n_layers=4)
    >>> s.n_heads, s.intermediate_size, round(s.lr, 4)
    (4, 352, 0.002)
    """

    name: str
    d_model: int  # residual stream width
    n_layers: int  # transformer blocks

    @property
    def n_heads(self) -> int:
        return self.d_model // HEAD_DIM

    @property
    def intermediate_size(self) -> int:
        # Llama's SwiGLU rule: 2/3 of 4*d (same parameters as a 4*d GELU MLP), rounded up to 32
        return 32 * math.ceil(8 * self.d_model / 3 / 32)

    @property
    def lr(self) -> float:
        # Peak AdamW LR falls with width (~1/sqrt(d), a common small-model heuristic), anchored at the
        # measured point; wider models need smaller steps to stay stable.
        width, lr = LR_ANCHOR
        return lr * math.sqrt(width / self.d_model)


MODEL_SIZES: dict[str, ModelSize] = {
    s.name: s
    for s in (
        ModelSize("smoke", d_model=64, n_layers=4),  # ~0.28M params with a 1K vocab: tests and CI
        ModelSize("tiny-s", d_model=128, n_layers=4),  # ~0.94M: near LR_ANCHOR's measured point
        ModelSize("tiny", d_model=192, n_layers=6),  # ~2.85M: the default laptop model
        ModelSize("tiny-l", d_model=256, n_layers=8),  # ~6.7M: the largest the hour budget allows
    )
}


def model_size(name: str) -> ModelSize:
    """The ModelSize called `name`, or a KeyError listing the known names."""
    if name not in MODEL_SIZES:
        raise KeyError(f"unknown model size '{name}' (model.size); known: {', '.join(MODEL_SIZES)}")
    return MODEL_SIZES[name]


def llama_config(cfg: ModelConfig, tokenizer: PreTrainedTokenizerBase) -> LlamaConfig:
    """The LlamaConfig for `cfg.size` with the tokenizer's vocabulary and special-token ids."""
    size = model_size(cfg.size)
    return LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=size.d_model,
        intermediate_size=size.intermediate_size,
        num_hidden_layers=size.n_layers,
        num_attention_heads=size.n_heads,
        num_key_value_heads=size.n_heads,  # no GQA: the KV cache is tiny at this scale
        max_position_embeddings=cfg.context_length,
        rms_norm_eps=1e-5,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )


def compute_device() -> torch.device:
    """accelerate's device for this process: cuda when present (under `accelerate launch`, the process's own GPU),
    else cpu (accelerate also picks Apple's mps or another accelerator when one is present). ACCELERATE_USE_CPU=true
    forces the CPU, as it does for the training loop's Accelerator, whose state this shares."""
    return PartialState(cpu=parse_flag_from_env("ACCELERATE_USE_CPU")).device


def build_model(cfg: ModelConfig, tokenizer: PreTrainedTokenizerBase, seed: int = 0) -> LlamaForCausalLM:
    """A fresh model of `cfg.size` initialised from `seed`, or `cfg.pretrained` loaded by name or path, on
    compute_device() in `cfg.dtype`.

    The seed is applied inside a forked RNG, so building a model does not disturb the caller's
    global torch random state; the weights are drawn on the CPU, so they are the same on every device.
    """
    dtype = getattr(torch, cfg.dtype)
    if cfg.pretrained:
        return _load_pretrained(cfg.pretrained, tokenizer, dtype)
    config = llama_config(cfg, tokenizer)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    return model.to(compute_device(), dtype)


def _load_pretrained(name_or_path: str, tokenizer: PreTrainedTokenizerBase, dtype: torch.dtype):
    try:
        model = AutoModelForCausalLM.from_pretrained(name_or_path, dtype=dtype)
    except OSError as err:
        raise OSError(
            f"model.pretrained='{name_or_path}' is neither a local checkpoint nor loadable from the hub "
            f"(offline runs with HF_HUB_OFFLINE=1 need it in the HF cache): {err}"
        ) from err
    if len(tokenizer) > model.get_input_embeddings().num_embeddings:
        # load_tokenizer added our chat/code special tokens to a hub tokenizer: give them rows
        model.resize_token_embeddings(len(tokenizer))  # on the CPU: the new rows do not depend on the device
    return model.to(compute_device())


def count_parameters(model: torch.nn.Module, include_embeddings: bool = True) -> int:
    """Distinct parameters (tied embeddings counted once); optionally without the token embedding."""
    total = sum(p.numel() for p in model.parameters())  # parameters() already de-duplicates tied weights
    if not include_embeddings:
        total -= model.get_input_embeddings().weight.numel()
    return total


CARD = "dsmath.json"  # beside the weights: which notebook made the checkpoint, at which stage


def save_model(model, tokenizer: PreTrainedTokenizerBase, path: str | Path, card: dict | None = None) -> Path:
    """Write model and tokenizer to `path` atomically: a temporary sibling folder, then a rename.

    An interrupted save leaves either the previous checkpoint or none, never a half-written one. `card`
    ({"name", "notebook", "stage": "init"|"base"|"instruct"|"rl", "description"}) goes to dsmath.json.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}"
    old = path.parent / f".{path.name}.old-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    if card is not None:
        (tmp / CARD).write_text(json.dumps(card, indent=1) + "\n")
    if path.exists():
        path.rename(old)
    tmp.rename(path)
    shutil.rmtree(old, ignore_errors=True)
    return path


def copy_checkpoint(source: str | Path, target: str | Path, card: dict) -> Path:
    """Publish a trained checkpoint under a stable name (e.g. checkpoints/base): weights and tokenizer copied,
    training leftovers (resume state, curve points, cached evaluations) left behind, the card updated with
    `card`; written to a temporary sibling and renamed, so the target is never half-written."""
    source, target = Path(source), Path(target)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(source, tmp, ignore=shutil.ignore_patterns("curve", "resume", "evals", "spec.json", "*.tmp*"))
    (tmp / CARD).write_text(json.dumps(read_card(source) | card | {"source": str(source)}, indent=1) + "\n")
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target


def read_card(path: str | Path) -> dict:
    """The dsmath.json card of a checkpoint folder ({} when it has none)."""
    card = Path(path) / CARD
    return json.loads(card.read_text()) if card.is_file() else {}


def load_model(path: str | Path, dtype: str = "float32"):
    """(model, tokenizer) from a folder written by `save_model`, or another model's save_pretrained folder (which,
    as a hub name would, gets our special tokens and embedding rows for them); the model is in eval mode, on
    compute_device() in `dtype` (params model.dtype for a frozen model; a trained one keeps float32 weights)."""
    path = Path(path)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path}: no saved model here (config.json missing); run the stage that trains it")
    tokenizer = load_tokenizer(path)
    return _load_pretrained(str(path), tokenizer, getattr(torch, dtype)).eval(), tokenizer
