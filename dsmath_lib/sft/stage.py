"""The SFT stage (notebook 04, paper §3): examples in, packed rows, the run's spec, the Instruct model out.

    from dsmath_lib import sft
    examples = sft.load_examples(params.sft, artifacts / "world", seed=params.seed)   # list[SFTExample]
    data = sft.pack(examples, tokenizer, params.model.context_length, artifacts / "packed" / "sft.npy")
    spec = sft.spec(params, base, data, artifacts / "runs")                          # a TrainSpec
    result = dsmath_lib.train.run(spec)                                               # out/final
    sft.publish(result.checkpoint, artifacts / "checkpoints" / "instruct")
    print(sft.conclusion(top1_table(runs)))   # the notebook's conclusion, read from eval.table5's top-1 table

The data: with `sft.source: world`, the embedded world's training problems, each in the formats of
`sft.formats` (chain-of-thought, program-of-thought, tool-integrated: sft.examples), in a chat turn
with no system prompt; otherwise a local JSONL file or a hub dataset (sft.examples.read_examples). Examples are
packed next-fit into rows of the context length, the loss on response tokens only (tool outputs, written by
the harness, masked), at a constant learning rate as the paper does, or one that steps down
(`sft.decay_at` / `sft.decay_to`).

Departures from the paper at small scale: tens of thousands of generated examples instead of 776K written
ones, a few hundred steps of 16 rows of 512 tokens instead of 500 steps of 256 rows of 4K, and a learning
rate far above 5e-5 (a 1M-parameter model moves little at the 7B model's step size).
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from dsmath_lib.config import Params, SFTConfig
from dsmath_lib.eval.intervals import parse_interval
from dsmath_lib.sft.examples import SFTExample, read_examples, response_mask_spans, world_examples


def load_examples(cfg: SFTConfig, world_dir: Path, seed: int = 0) -> list[SFTExample]:
    """The SFT examples of `cfg.source`: the world's train problems in cfg.formats, or read from a file or
    the hub; the first cfg.n_examples (0 = all). World problems are drawn in a seeded order, so a budget
    smaller than the world still covers every family and level."""
    if cfg.source != "world":
        return read_examples(cfg.source, limit=cfg.n_examples)
    from dsmath_lib.eval.benchmarks import load_shot_pool

    problems = load_shot_pool(world_dir)
    random.Random(f"dsmath-sft-problems:{seed}").shuffle(problems)
    if cfg.n_examples:
        problems = problems[: -(-cfg.n_examples // len(cfg.formats))]  # ceil: every format of each problem
    examples = world_examples(problems, cfg.formats, seed=seed, shares=cfg.format_shares)
    return examples[: cfg.n_examples] if cfg.n_examples else examples


def example_table(examples: Sequence[SFTExample]) -> pd.DataFrame:
    """Examples, and mean prompt and response length in characters, per format."""
    counts = Counter(e.format for e in examples)
    return pd.DataFrame([{"format": fmt, "examples": n,
                          "prompt_chars": round(sum(len(e.prompt) for e in examples if e.format == fmt) / n),
                          "response_chars": round(sum(len(e.response) for e in examples if e.format == fmt) / n)}
                         for fmt, n in sorted(counts.items())])


def pack(examples: Sequence[SFTExample], tokenizer, length: int, path: Path) -> Path:
    """Pack the examples (loss on responses, tool outputs masked) to `path`, unless the same examples,
    tokenizer and length were packed there already."""
    from dsmath_lib.train import pack_sft, read_packed, write_packed

    digest = hashlib.sha256("".join(e.to_json() for e in examples).encode()).hexdigest()[:16]
    source = f"sft {digest}/{len(tokenizer)}/{length}"
    try:
        if read_packed(path).source == source:
            return path
    except (FileNotFoundError, ValueError):
        pass
    triples = [(e.prompt, e.response, response_mask_spans(e.response)) for e in examples]
    ids, mask = pack_sft(tokenizer, triples, length)
    return write_packed(path, ids, mask, source=source)


def spec(params: Params, base: Path, data: Path, runs_dir: Path):
    """The SFT run's TrainSpec, in a folder named by its digest (a rerun finds it finished)."""
    from dsmath_lib.train import sft_spec

    card = {"name": "instruct", "stage": "instruct", "description": f"SFT of {Path(base).name} on {Path(data).name}"}
    run = sft_spec(params.sft, init=base, out="", data=[data], length=params.model.context_length,
                   seed=params.seed, card=card, mixed_precision=params.pretrain.mixed_precision)
    run.out = str(Path(runs_dir) / f"sft-{run.digest()[:12]}")
    return run


def publish(checkpoint: Path, target: Path, notebook: str = "04_sft") -> Path:
    """The trained model as the study's Instruct checkpoint (card stage "instruct")."""
    from dsmath_lib.model import copy_checkpoint

    return copy_checkpoint(checkpoint, target, {"name": "instruct", "notebook": notebook, "stage": "instruct",
                                                "description": "SFT of the base model (CoT, PoT, tool-integrated)"})


def _versus(cell: str, reference: str) -> str:
    """Where one interval cell lies against another: above, below, or overlapping it."""
    (_, lo, hi), (_, ref_lo, ref_hi) = parse_interval(cell), parse_interval(reference)
    return "above" if lo > ref_hi else "below" if hi < ref_lo else "overlapping"


def conclusion(table: pd.DataFrame, before: str = "base", after: str = "instruct") -> str:
    """The notebook's conclusion as markdown, read from eval.table5.top1_table: per benchmark, the `after`
    model's top-1 in each of its settings against the `before` model's (few-shot CoT), with their 95%
    intervals, the paper's 7B number where it has one, and whether each interval lies above, below or
    overlapping the reference's (two intervals compared, not a paired test).

    >>> table = pd.DataFrame({"setting": ["few-shot CoT", "CoT", "PoT"], "model": ["base", "instruct", "instruct"],
    ...                       "GSM8K (ours)": ["2.0 [0.0, 5.0]", "9.0 [6.0, 12.0]", "1.0 [0.0, 3.0]"],
    ...                       "GSM8K (paper)": ["64.2", "82.9", "-"]})
    >>> print(conclusion(table))
    - **GSM8K**: instruct zero-shot CoT 9.0% [6.0, 12.0] (paper 82.9), above; PoT 1.0% [0.0, 3.0], overlapping; against base few-shot CoT 2.0% [0.0, 5.0] (paper 64.2).
    """
    columns = [c[: -len(" (ours)")] for c in table.columns if c.endswith(" (ours)")]
    reference_rows = table[table["model"] == before]
    lines = []
    for column in columns:
        def cell(row) -> str:
            mean, lo, hi = parse_interval(row[f"{column} (ours)"])
            paper = row.get(f"{column} (paper)", "-")
            return f"{row['setting']} {mean:.1f}% [{lo:.1f}, {hi:.1f}]" + ("" if paper in ("-", None) else f" (paper {paper})")
        if reference_rows.empty:
            lines.append(f"- **{column}**: no {before} row to compare with.")
            continue
        reference = reference_rows.iloc[0]
        parts = [f"{cell(r)}, {_versus(r[column + ' (ours)'], reference[column + ' (ours)'])}"
                 for _, r in table[table["model"] == after].iterrows()]
        lines.append(f"- **{column}**: {after} zero-shot " + "; ".join(parts) + f"; against {before} {cell(reference)}.")
    return "\n".join(lines)
