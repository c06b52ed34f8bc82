"""Running the pretraining arms: pack the corpora, train every stage of every arm per seed, find the curve points.

    from dsmath_lib.pretraining import pack_corpora, run_arms
    packed = pack_corpora(corpus_files, tokenizer, params.model.context_length, artifacts / "packed")
    runs = run_arms(arms, packed, params, artifacts)   # {(arm, seed): [final checkpoint of each stage]}

A stage trains on a mixture of packed corpora with the paper's optimiser and schedule (AdamW 0.9/0.95, wd
0.1, warm-up then steps to 31.6% and 10% of peak) and starts from the previous stage's checkpoint (the first
from the shared warm start, `warm_start`, or without one from the untrained model of the run's seed). A
stage's output folder is named by a hash of everything that determines it (start checkpoint, data, tokens,
optimiser, seed), so a stage two arms share is trained once: 03's "math only" is 02's "final corpus" run,
03's first "general" stage is 02's "no math training" run when the token budgets are equal, and a rerun of
a notebook finds every finished stage on disk (dsmath_lib.train resumes an interrupted one).

Departures from the paper at small scale: a 1M-parameter model from scratch instead of 1.3B (or, with
model.pretrained, a small hub model), trained on our world's corpora for ~10^5-10^6 tokens per stage.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from dsmath_lib.config import Params
from dsmath_lib.pretraining.arms import Arm, Stage


# ------------------------------------------------------------------------------------------------ data
def pack_corpora(files: Mapping[str, Path], tokenizer, length: int, folder: Path) -> dict[str, Path]:
    """Tokenize and pack each corpus JSONL ({url, text, ...} per line) into rows of `length` tokens under
    folder/<name>; a corpus whose file and tokenizer are unchanged since the last packing is not redone."""
    from dsmath_lib.corpus.inputs import read_corpus
    from dsmath_lib.train import pack_documents, read_packed, write_packed

    out = {}
    for name, path in tqdm(files.items(), desc="packing corpora"):
        source = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16] + f"/{len(tokenizer)}/{length}"
        target = Path(folder) / f"{name}.npy"
        try:
            if read_packed(target).source == source:
                out[name] = target
                continue
        except (FileNotFoundError, ValueError):
            pass
        texts = [page.text for page in read_corpus(path)]
        if not texts:
            raise ValueError(f"{path}: corpus '{name}' is empty; rerun the notebook that writes it")
        docs = tokenizer(texts)["input_ids"]
        write_packed(target, pack_documents(docs, length, tokenizer.eos_token_id), source=source)
        out[name] = target
    return out


def corpus_sizes(packed: Mapping[str, Path]) -> pd.DataFrame:
    """Rows and tokens of every packed corpus."""
    from dsmath_lib.train import read_packed

    rows = []
    for name, path in packed.items():
        data = read_packed(path)
        rows.append({"corpus": name, "rows": data.rows, "tokens": data.tokens})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------ runs
def init_checkpoint(params: Params, seed: int, artifacts: Path) -> Path:
    """Where the runs of `seed` start without a warm start: notebook 00's checkpoints/init, or for a seed other
    than params.seed the untrained model of that seed (built once, in runs/init-seed<seed>).

    With model.pretrained, 00 saves the pretrained model itself as checkpoints/init (with rows for our special
    tokens) and every seed starts from it, a seed then setting only the data order, as with a warm start. Runs
    start from that local snapshot rather than from the hub name because a run folder is named by its spec's
    digest, which hashes `init`: a hub name (or a path to someone's cache) can change its bytes under a finished
    run (a new revision), while the snapshot's bytes are fixed once 00 wrote them, and it holds our tokenizer,
    which the hub's lacks. Its card names the model it was made from, so a changed model.pretrained is an error
    here rather than a silent reuse of runs from the old model.
    """
    from dsmath_lib.model import build_model, read_card, save_model
    from dsmath_lib.tokenizer import load_tokenizer

    init = artifacts / "checkpoints" / "init"
    if not (init / "config.json").is_file():
        raise FileNotFoundError(f"{init}: missing; run notebook 00_world first")
    made_from = read_card(init).get("pretrained", "")
    if made_from != params.model.pretrained:
        raise ValueError(f"{init} was made from model.pretrained={made_from!r} but {params.source or 'the params'} "
                         f"says {params.model.pretrained!r}; rerun notebook 00_world")
    if seed == params.seed or params.model.pretrained:
        return init
    path = artifacts / "runs" / f"init-seed{seed}"
    if not (path / "config.json").is_file():
        tokenizer = load_tokenizer(init)
        model = build_model(params.model, tokenizer, seed=seed)
        save_model(model, tokenizer, path, card={"name": f"init-seed{seed}", "stage": "init",
                                                 "description": f"untrained, seed {seed}"})
    return path


def warm_start(params: Params, packed: Mapping[str, Path], artifacts: Path, tracker=None) -> Path | None:
    """The shared warm start: params.pretrain.warm_start_tokens of general prose from notebook 00's untrained
    model, trained once (its run folder is named by digest, so 03 finds 02's); None when the budget is 0."""
    from dsmath_lib.train import run

    tokens = params.pretrain.warm_start_tokens
    if tokens <= 0:
        return None
    stage = Stage((("general", tokens),))
    spec = stage_spec(stage, init_checkpoint(params, params.seed, artifacts), params.seed, packed, params,
                      artifacts / "runs", label="warm start")
    spec.curve_points = 0
    spec.out = str(artifacts / "runs" / f"warm-start-{spec.digest()[:12]}")
    return Path(run(spec, accelerate_config=params.pretrain.accelerate_config, tracker=tracker).checkpoint)


def stage_spec(stage: Stage, start: Path, seed: int, packed: Mapping[str, Path], params: Params, runs_dir: Path,
               label: str = ""):
    """The TrainSpec of one stage, in a folder named by its corpora, seed and spec digest. The card says only
    what the stage is (not which arm or notebook asked for it), so two arms sharing a stage share one run."""
    from dsmath_lib.train import pretrain_spec

    missing = [name for name, _ in stage.sources if name not in packed]
    if missing:
        raise KeyError(f"stage needs corpora {missing}; packed: {sorted(packed)}")
    names = "+".join(n for n, _ in stage.sources)
    card = {"name": label or f"{names} seed {seed}", "stage": "base",
            "description": " + ".join(f"{n} {t:,} tokens" for n, t in stage.sources) + f" from {Path(start).name}"}
    spec = pretrain_spec(params.pretrain, params.model, init=start, out="", data=[packed[n] for n, _ in stage.sources],
                         tokens=stage.tokens, weights=[n / stage.tokens for _, n in stage.sources], seed=seed, card=card)
    spec.out = str(runs_dir / f"{names}-seed{seed}-{spec.digest()[:12]}")
    return spec


def run_arms(arms: Sequence[Arm], packed: Mapping[str, Path], params: Params, artifacts: Path,
             tracker=None) -> dict[tuple[str, int], list[Path]]:
    """Train every arm for each of its seeds; {(arm name, seed): [final checkpoint of each stage]}. With a warm
    start, every arm and seed continues from it (a seed then sets the data order); without, from the untrained
    model of its seed."""
    from dsmath_lib.train import run

    shared = warm_start(params, packed, artifacts, tracker)
    out: dict[tuple[str, int], list[Path]] = {}
    for arm in arms:
        for seed in arm.seeds:
            start, done = shared or init_checkpoint(params, seed, artifacts), []
            for stage in arm.stages:
                spec = stage_spec(stage, start, seed, packed, params, artifacts / "runs")
                start = Path(run(spec, accelerate_config=params.pretrain.accelerate_config, tracker=tracker).checkpoint)
                done.append(start)
            out[(arm.name, seed)] = done
    return out


def curve_checkpoints(checkpoint: Path) -> list[tuple[int, Path]]:
    """(tokens, folder) of the learning-curve checkpoints saved beside a run's final checkpoint
    (<run>/final and <run>/curve/<tokens>/)."""
    curve = Path(checkpoint).parent / "curve"
    found = [(int(p.name), p) for p in curve.iterdir() if p.name.isdigit()] if curve.is_dir() else []
    return sorted(found)
