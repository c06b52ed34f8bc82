"""The models to evaluate: checkpoint discovery, loading, a content digest, and the model as a generate_fn.

    from dsmath_lib.eval.checkpoints import Checkpoint, find_checkpoints, load_checkpoint, checkpoint_digest
    checkpoints = find_checkpoints(artifacts / "checkpoints", params.eval.pretrained)   # one per saved folder
    checkpoints[0].modes                            # prompting modes of its stage (STAGE_MODES)
    model, tokenizer = load_checkpoint(checkpoints[0], dtype="float32")
    checkpoint_digest(checkpoints[0].path)          # sha256 of weights, config and tokenizer: the cache's key
    fn = model_generate_fn(model, tokenizer, max_new_tokens=160, temperature=0.0)   # prompting's generate_fn

A checkpoint is evaluated in the modes of its training stage (its dsmath.json card's "stage"): base models
(and the untrained "init" floor) with few-shot CoT, as the paper's Table 2 does; instruction and RL models
zero-shot in chat format, with CoT and tool-integrated prompting, as in Table 5. A caller can name other
modes (notebook 04 adds chat PoT for the Instruct model).

The digest identifies a model by what determines its outputs (weight files, config.json, tokenizer.json),
never by its folder or card: checkpoints/instruct, copied from a run folder by model.copy_checkpoint, has
its source's digest, and a retrained checkpoint a new one.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from pathlib import Path

from dsmath_lib.config import ModelConfig
from dsmath_lib.eval.prompting import GenerateFn

STAGE_MODES = {  # prompting modes per training stage (paper Table 2 for base models, Table 5 for the rest)
    "init": ("cot-fewshot",),
    "base": ("cot-fewshot",),
    "instruct": ("cot-chat", "tool-chat"),
    "rl": ("cot-chat", "tool-chat"),
}
NOT_POLICIES = ("prm",)  # stages find_checkpoints leaves out: a reward model (notebook 06) writes no solutions
DIGEST_FILES = ("*.safetensors", "*.bin", "config.json", "tokenizer.json")  # what a model's outputs depend on;
# not dsmath.json (a copy's card differs) nor tokenizer_config.json (transformers rewrites its metadata on save)


@dataclass(frozen=True)
class Checkpoint:
    """A model to evaluate: a folder written by model.save_model, or a hub name (`pretrained`); `modes`
    defaults to the modes of its stage."""

    name: str
    path: str
    stage: str
    description: str = ""
    modes: tuple[str, ...] = ()

    def __post_init__(self):
        if self.stage not in STAGE_MODES:
            raise ValueError(f"checkpoint {self.name} ({self.path}): unknown stage {self.stage!r} in its "
                             f"dsmath.json (known: {', '.join(STAGE_MODES)})")
        object.__setattr__(self, "modes", tuple(self.modes) or STAGE_MODES[self.stage])


def find_checkpoints(folder: str | Path, pretrained: str = "") -> list[Checkpoint]:
    """Every saved policy under `folder` (one sub-folder each, with config.json; reward models, NOT_POLICIES, left
    out), sorted by name, plus the named `pretrained` model (stage "base") when given. Raises when there is none."""
    from dsmath_lib.model import read_card

    folder = Path(folder)
    found = []
    for sub in sorted(folder.iterdir()) if folder.is_dir() else []:
        if (sub / "config.json").is_file() and not sub.name.startswith("."):
            card = read_card(sub)
            if "stage" not in card:
                raise ValueError(f"{sub}/dsmath.json: missing 'stage' (init, base, instruct or rl)")
            if card["stage"] in NOT_POLICIES:
                continue
            found.append(Checkpoint(card.get("name", sub.name), str(sub), card["stage"], card.get("description", "")))
    if pretrained:
        found.append(Checkpoint(pretrained.rstrip("/").split("/")[-1], pretrained, "base", "named pretrained model"))
    if not found:
        raise FileNotFoundError(f"{folder}: no checkpoints; run notebook 00_world first (it saves checkpoints/init)")
    return found


def load_checkpoint(checkpoint: Checkpoint | str | Path, dtype: str = "float32"):
    """(model, tokenizer) for a saved folder (ours, or another model's checkpoint: model.load_model gives it our
    tokens as a hub name gets them), or a hub model by name (HF cache when offline); in eval mode, on
    model.compute_device() in `dtype` (EvalSpec.from_params passes params model.dtype)."""
    from dsmath_lib.model import build_model, load_model
    from dsmath_lib.tokenizer import load_tokenizer

    path = checkpoint.path if isinstance(checkpoint, Checkpoint) else str(checkpoint)
    if Path(path).is_dir():
        return load_model(path, dtype=dtype)
    tokenizer = load_tokenizer(path)
    return build_model(ModelConfig(pretrained=path, dtype=dtype), tokenizer).eval(), tokenizer


_digests: dict[tuple, str] = {}  # (folder, its files' names, sizes and mtimes) -> digest: hash each file once


def checkpoint_digest(path: str | Path) -> str:
    """sha256 (hex) of a checkpoint folder's DIGEST_FILES, names and bytes; "hub:<name>" for a hub model.

    >>> checkpoint_digest("deepseek-ai/deepseek-math-7b-base")
    'hub:deepseek-ai/deepseek-math-7b-base'
    """
    folder = Path(path)
    if not folder.is_dir():
        return f"hub:{path}"
    files = sorted({f for pattern in DIGEST_FILES for f in folder.glob(pattern) if f.is_file()})
    if not files:
        raise FileNotFoundError(f"{folder}: no model files ({', '.join(DIGEST_FILES)}) to evaluate")
    stamp = (str(folder.resolve()), tuple((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files))
    if stamp not in _digests:
        h = hashlib.sha256()
        for f in files:
            h.update(f"{f.name}:{f.stat().st_size}\0".encode())
            with f.open("rb") as stream:
                for block in iter(lambda: stream.read(1 << 24), b""):
                    h.update(block)
        _digests[stamp] = h.hexdigest()
    return _digests[stamp]


def model_generate_fn(model, tokenizer, *, max_new_tokens: int, temperature: float, top_p: float = 1.0,
                      batch_size: int = 64, seed: int = 0, progress: bool = True,
                      reuse_prefixes: bool = False) -> GenerateFn:
    """sampling.generate as prompting's `generate_fn(prompts, stop) -> list[str]`.

    Each call uses the next seed (seed, seed + 1, ...), so the rounds of tool-integrated prompting do not
    replay one random stream; temperature 0 is greedy and ignores the seed. reuse_prefixes (tool-integrated
    prompting): one sampling.PrefixCache across the calls, so a round continues the rows that stopped at a
    closing code block from their keys and values instead of prefilling the whole context again."""
    from dsmath_lib.sampling import PrefixCache, generate

    calls = itertools.count()
    cache = PrefixCache() if reuse_prefixes else None

    def generate_fn(prompts: list[str], stop: list[str]) -> list[str]:
        completions = generate(model, tokenizer, prompts, max_new_tokens=max_new_tokens, temperature=temperature,
                               top_p=top_p, stop=stop, seed=seed + next(calls), batch_size=batch_size,
                               progress=progress, prefix_cache=cache)
        return [c.text for c in completions]

    return generate_fn
