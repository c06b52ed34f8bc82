"""Training throughput of dsmath_lib.train on this machine, against the CPU's float32 peak.

    python bench/bench_train.py                          # smoke, tiny-s, tiny, and tiny-l if it fits in a minute
    python bench/bench_train.py --sizes tiny --steps 8 --context 256

For each model size: the real training loop (dsmath_lib.train.train: accelerate, packed rows, AdamW,
loss masking) on random packed rows at context 512, micro-batch 8 (one micro-batch per optimiser step),
reporting the median tokens/s over the steps after the first (which pays for allocation). Then:

    FLOPs / token = 6 * N_nonembedding              forward + backward of every matmul weight
                  + 6 * V * d                        the output projection: tied to the embedding, but a real
                                                     matmul (the input lookup costs nothing and is not counted)
                  + 12 * n_layers * d * context      attention scores and weighted values, forward + backward
    achieved FLOP/s = tokens/s * FLOPs/token
    peak FLOP/s     = cores x clock x 32 (float32 FLOP/cycle/core: 2 FMA pipes x 8 lanes x 2, AVX2; Zen 4's
                      AVX-512 is double-pumped and gives the same 32)

The clock is lscpu's "CPU max MHz" when the VM reports it, else /proc/cpuinfo's "cpu MHz". Prints
figures; asserts nothing. Other processes on the machine lower the figures: the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch

from bench_model import synthetic_texts  # bench/ is on sys.path when this file is run as a script
from dsmath_lib.config import ModelConfig
from dsmath_lib.model import MODEL_SIZES, build_model, count_parameters, save_model
from dsmath_lib.tokenizer import train_tokenizer
from dsmath_lib.train import TrainSpec, train, write_packed

FLOP_PER_CYCLE = 32  # float32, per core: 2 FMA units x 8 lanes x 2 FLOP


def cpu_peak(cores: int) -> tuple[float, float]:
    """(clock in GHz, float32 peak FLOP/s) of `cores` cores of this CPU."""
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    found = re.search(r"CPU max MHz:\s*([\d.]+)", lscpu)
    if not found:
        found = re.search(r"cpu MHz\s*:\s*([\d.]+)", Path("/proc/cpuinfo").read_text())
    ghz = float(found.group(1)) / 1000
    return ghz, cores * ghz * 1e9 * FLOP_PER_CYCLE


def flops_per_token(model, context: int) -> float:
    """Training FLOPs per token (see the module docstring): weights, output projection, attention."""
    cfg = model.config
    non_embedding = count_parameters(model, include_embeddings=False)
    output_projection = cfg.vocab_size * cfg.hidden_size
    attention = 12 * cfg.num_hidden_layers * cfg.hidden_size * context
    return 6 * non_embedding + 6 * output_projection + attention


def bench_size(name: str, model, tok, workdir: Path, context: int, micro: int, steps: int) -> float:
    """Median training tokens/s over `steps` real optimiser steps (the first not counted) of `model`."""
    save_model(model, tok, workdir / f"init-{name}")
    rows = np.random.default_rng(0).integers(3, len(tok), size=(micro * steps, context))
    write_packed(workdir / "random.npy", rows, source="uniform random ids")
    spec = TrainSpec(init=str(workdir / f"init-{name}"), out=str(workdir / f"run-{name}"),
                     data=[str(workdir / "random.npy")], tokens=micro * context * steps, batch_size=micro,
                     micro_batch_size=micro, lr=MODEL_SIZES[name].lr, warmup_steps=0, checkpoint_every=10**9)
    result = train(spec, progress=False, fresh=True)
    return statistics.median(h["tokens_per_s"] for h in result.history[1:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=["smoke", "tiny-s", "tiny", "tiny-l"], choices=list(MODEL_SIZES))
    ap.add_argument("--context", type=int, default=512)
    ap.add_argument("--micro-batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=6, help="optimiser steps per size (the first is not timed)")
    ap.add_argument("--max-seconds", type=float, default=60,
                    help="skip a size whose run the previous size's FLOP/s predicts to take longer (tiny-l)")
    ap.add_argument("--vocab", type=int, default=1024)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ghz, peak = cpu_peak(args.threads)
    tok = train_tokenizer(synthetic_texts(5000), vocab_size=args.vocab)  # fills the vocabulary as the study's does
    print(f"torch {torch.__version__}, {args.threads} threads, vocab {len(tok)}, context {args.context}, "
          f"micro-batch {args.micro_batch}, {args.steps} steps; load average {os.getloadavg()[0]:.2f}")
    print(f"peak: {args.threads} cores x {ghz:.3f} GHz x {FLOP_PER_CYCLE} FLOP/cycle = {peak / 1e9:.0f} GFLOP/s")
    print(f"{'size':8} {'params':>8} {'non-emb':>8} {'tok/s':>8} {'MFLOP/tok':>10} {'GFLOP/s':>8} {'of peak':>8} "
          f"{'s':>6}")
    achieved = None  # FLOP/s of the previous size: predicts the next one's time
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sizes:
            model = build_model(ModelConfig(size=name, context_length=args.context), tok, seed=0)
            fpt = flops_per_token(model, args.context)
            tokens = args.steps * args.micro_batch * args.context
            if achieved and tokens * fpt / achieved > args.max_seconds:
                print(f"{name:8} skipped: about {tokens * fpt / achieved:.0f} s at the previous size's "
                      f"{achieved / 1e9:.1f} GFLOP/s, over --max-seconds {args.max_seconds:.0f}")
                continue
            t0 = time.perf_counter()
            tps = bench_size(name, model, tok, Path(tmp), args.context, args.micro_batch, args.steps)
            achieved = tps * fpt
            print(f"{name:8} {count_parameters(model) / 1e6:7.2f}M "
                  f"{count_parameters(model, include_embeddings=False) / 1e6:7.2f}M {tps:8,.0f} {fpt / 1e6:10.1f} "
                  f"{achieved / 1e9:8.2f} {achieved / peak:8.1%} {time.perf_counter() - t0:6.0f}", flush=True)


if __name__ == "__main__":
    main()
