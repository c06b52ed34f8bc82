"""The calibration bench: how fast a named model size learns the embedded world, by benchmark and level.

    python bench/bench_learnability.py                                  # tiny's world and size, CoT chat data
    python bench/bench_learnability.py --size tiny --tokens 4e6 --points 4
    python bench/bench_learnability.py --world max_operand=20 gsm_max_steps=4 --lr 3e-3
    python bench/bench_learnability.py --params params/tiny.yaml --mix cot,pot,tool
    python bench/bench_learnability.py --corpus artifacts/tiny/corpora/final.jsonl \
        --init artifacts/tiny/runs/warm-start-<digest>/final --tokens 4e6     # a base model's curve

It builds the world of a params file (with --world overrides), trains its BPE, builds a fresh model of
--size, and trains it (dsmath_lib.train, the study's own loop) on the world's training problems as chat
examples in the formats of --mix (the Instruct model's data: the best any arm of the study could see)
for --tokens tokens. At --points evenly spaced token counts it decodes greedy zero-shot CoT answers to the
first --problems test problems of each benchmark (the 04_sft evaluation: mode "cot-chat") and prints a
row: tokens, training loss, accuracy per benchmark and per level, tokens/s and wall time.

With --corpus it measures a base model instead: it trains on those corpora (JSONL of {url, text} per line,
as notebook 01 writes them; mixed by the shares of PATH=SHARE, equal shares of sequences where none is
given) and evaluates few-shot CoT (mode
"cot-fewshot", eval.n_shots level-1 shots from the training split: the base models' measure in 02, 03 and
07). --init continues a saved checkpoint (its tokenizer too), e.g. the study's shared warm start, as 02's
arms do.

This is the instrument the tiny scale's knobs are set with (params/tiny.yaml says which value each
measurement chose): world difficulty, CoT layout, model shape, token budget and learning rate. It prints
figures and asserts nothing; another process on the 2 cores slows it several-fold (the load average is
printed with each row).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pandas as pd

from dsmath_lib.config import ModelConfig, load_params
from dsmath_lib.eval.benchmarks import shots_for
from dsmath_lib.eval.checkpoints import model_generate_fn
from dsmath_lib.eval.evaluate import solve_and_grade
from dsmath_lib.model import build_model, copy_checkpoint, count_parameters, load_model, model_size, save_model
from dsmath_lib.pretraining import pack_corpora
from dsmath_lib.sft import pack, world_examples
from dsmath_lib.synth import export, generate_world
from dsmath_lib.tokenizer import train_tokenizer
from dsmath_lib.train import TrainSpec, train

ROOT = Path(__file__).resolve().parents[1]


def world_overrides(params, pairs: list[str]):
    """params.world with KEY=VALUE overrides (ints), e.g. max_operand=20."""
    changes = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key not in {f.name for f in dataclasses.fields(params.world)}:
            raise SystemExit(f"--world {pair}: unknown world key {key!r}")
        changes[key] = type(getattr(params.world, key))(value)
    return dataclasses.replace(params.world, **changes)


def corpus_shares(pairs: list[str]) -> dict[str, float]:
    """{path: share} from PATH[=SHARE] arguments; equal shares where none is given."""
    shares = {}
    for pair in pairs:
        path, _, share = pair.partition("=")
        if not Path(path).is_file():
            raise SystemExit(f"--corpus {pair}: no file {path} (notebook 01 writes the corpora)")
        shares[path] = float(share) if share else 1.0
    return shares


def accuracy_row(checkpoint: Path, tests: dict, params, batch_size: int, show: int = 0, mode: str = "cot-chat",
                 shots: dict | None = None) -> dict:
    """Greedy accuracy (%) of a checkpoint per benchmark and per level in `mode` (zero-shot CoT, or few-shot
    CoT with shots[benchmark]); prints `show` wrong answers per benchmark and level."""
    model, tokenizer = load_model(checkpoint)
    fn = model_generate_fn(model, tokenizer, max_new_tokens=params.sampling.max_new_tokens, temperature=0.0,
                           batch_size=batch_size, progress=False)
    row = {}
    for name, problems in tests.items():
        attempts, correct = solve_and_grade(problems, fn, mode, params.eval, (shots or {}).get(name, ()), 1, False)
        short = name.replace("synth-", "")
        row[short] = round(100 * sum(correct) / len(correct), 1)
        for level in sorted({p.level for p in problems}):
            hits = [ok for p, ok in zip(problems, correct) if p.level == level]
            row[f"{short} L{level}"] = round(100 * sum(hits) / len(hits))
            wrong = [(p, a) for p, a, ok in zip(problems, attempts, correct) if p.level == level and not ok]
            for p, a in wrong[:show]:
                print(f"--- {p.id} L{level}: {p.question}\n  gold: {p.solution!r}\n  model: {a.output!r}")
    return row


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--params", default=str(ROOT / "params" / "tiny.yaml"), help="params file (world, sampling)")
    ap.add_argument("--world", nargs="*", default=[], help="world overrides, KEY=VALUE")
    ap.add_argument("--size", default="", help="model size name (default: the params file's)")
    ap.add_argument("--mix", default="cot", help="SFT formats trained on, comma-separated (cot, pot, tool)")
    ap.add_argument("--corpus", nargs="*", default=[], help="pretraining corpora, PATH[=SHARE] (JSONL; equal shares "
                    "of sequences unless given), trained on instead of --mix; the evaluation is then few-shot CoT")
    ap.add_argument("--init", default="", help="checkpoint to continue (and its tokenizer) instead of a fresh model; "
                    "--size then names only the LR's size")
    ap.add_argument("--tokens", type=float, default=4e6, help="training tokens")
    ap.add_argument("--points", type=int, default=4, help="evaluation points along the run")
    ap.add_argument("--lr", type=float, default=0.0, help="peak LR (default: the size's derived LR)")
    ap.add_argument("--batch", type=int, default=8, help="rows of context_length per step")
    ap.add_argument("--warmup", type=int, default=20, help="warm-up steps")
    ap.add_argument("--problems", type=int, default=200, help="test problems per benchmark")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--save", default="", help="copy the final checkpoint here (to continue it with --init)")
    ap.add_argument("--show", type=int, default=0, help="wrong answers printed per level at the last point")
    args = ap.parse_args(argv)

    params = load_params(args.params)
    world_cfg = world_overrides(params, args.world)
    size = args.size or params.model.size
    length = params.model.context_length
    started = time.perf_counter()
    world = generate_world(world_cfg)
    tests = {name: problems[: args.problems] for name, problems in world.test.items()}
    mode, shots = "cot-chat", {}
    if args.corpus:
        mode = "cot-fewshot"
        shots = {name: shots_for(name, world.train, params.eval.n_shots, params.seed) for name in tests}
    with tempfile.TemporaryDirectory(prefix="dsmath-learn-") as tmp:
        tmp = Path(tmp)
        if args.init:
            model, tokenizer = load_model(args.init)
            init = args.init
        else:
            tokenizer = train_tokenizer(export.tokenizer_texts(world, params.tokenizer.n_train_texts, args.seed),
                                        params.tokenizer.vocab_size)
            model = build_model(ModelConfig(size=size, context_length=length), tokenizer, seed=args.seed)
            init = str(tmp / "init")
            save_model(model, tokenizer, init)
        if args.corpus:
            shares = corpus_shares(args.corpus)
            packed = pack_corpora({Path(c).stem: Path(c) for c in shares}, tokenizer, length, tmp / "packed")
            data, weights = [str(p) for p in packed.values()], list(shares.values())
            what = "corpora " + ", ".join(f"{name} {share:g}" for name, share in zip(packed, weights))
        else:
            examples = world_examples(world.train, args.mix.split(","), seed=args.seed)
            data = [str(pack(examples, tokenizer, length, tmp / "data.npy"))]
            weights, what = [], f"mix {args.mix}: {len(examples):,} examples"
        lr = args.lr or model_size(size).lr
        print(f"world {dataclasses.asdict(world_cfg)}\nsize {size} ({count_parameters(model):,} parameters) from "
              f"{args.init or 'scratch'}, {what}, lr {lr:g}, batch {args.batch} x {length}, evaluated {mode}, "
              f"setup {time.perf_counter() - started:.0f} s", flush=True)
        spec = TrainSpec(init=init, out=str(tmp / "run"), data=data, weights=weights, tokens=int(args.tokens),
                         batch_size=args.batch, micro_batch_size=min(args.batch, 8), lr=lr, warmup_steps=args.warmup,
                         decay_at=[0.8, 0.9], decay_to=[0.316, 0.1], seed=args.seed, checkpoint_every=10**9,
                         curve_points=args.points)
        result = train(spec, progress=False)
        history = pd.DataFrame(result.history)
        points = {int(Path(p).name): p for p in result.curve} | {result.tokens: result.checkpoint}
        rows = []
        for tokens, point in sorted(points.items()):
            near = history.iloc[(history["tokens"] - tokens).abs().argmin()]
            loss = history[history["tokens"] <= tokens].tail(10)["loss"].mean()
            row = {"tokens": tokens, "loss": round(float(loss), 3)}
            last = tokens == result.tokens
            row |= accuracy_row(Path(point), tests, params, params.sampling.batch_size, args.show if last else 0,
                                mode, shots)
            row |= {"tok/s": round(result.tokens_per_s), "train s": round(float(near["tokens"]) / result.tokens_per_s),
                    "load": round(os.getloadavg()[0], 1)}
            rows.append(row)
            print(pd.DataFrame([row]).to_string(index=False), flush=True)
        print(pd.DataFrame(rows).to_markdown(index=False))
        if args.save:
            print(f"final checkpoint: {copy_checkpoint(result.checkpoint, Path(args.save), {'name': 'bench'})}")
        print(f"total wall time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
