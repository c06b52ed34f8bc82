"""Throughput of the tiny models on this machine: training tokens/s and sampling tokens/s.

    python bench/bench_model.py                       # tiny-s, tiny, tiny-l; about 2-3 minutes on 2 cores
    python bench/bench_model.py --sizes tiny --train-steps 10

(a) training: a plain AdamW loop on packed random token sequences (batch x context), reported as
tokens/s and seconds per 1M tokens, the figure that sets how many tokens the hour-long tiny study can
afford; (b) sampling: greedy generation at batch 64 with dsmath_lib.sampling.generate (KV cache, left
padding) side by side with HF `model.generate` on the same prompts. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

from dsmath_lib.config import ModelConfig
from dsmath_lib.model import MODEL_SIZES, build_model, count_parameters
from dsmath_lib.sampling import generate
from dsmath_lib.tokenizer import train_tokenizer


def synthetic_texts(n: int, seed: int = 0) -> list[str]:
    """Word-problem-like lines over a Zipf-distributed pseudo-word vocabulary, so a 1K-token BPE fills up."""
    rng = random.Random(seed)
    syllables = ["ta", "ko", "mi", "ra", "en", "lo", "sa", "ve", "qu", "ith", "on", "er", "st", "an", "de"]
    words = ["".join(rng.choices(syllables, k=rng.randint(1, 4))) for _ in range(3000)]
    weights = [1 / (rank + 1) for rank in range(len(words))]
    out = []
    for _ in range(n):
        a, b = rng.randint(2, 99), rng.randint(2, 99)
        prose = " ".join(rng.choices(words, weights, k=12))
        out.append(f"{prose.capitalize()} has {a} and buys {b} more. How many now? "
                   f"{a} + {b} = {a + b}. The answer is $\\boxed{{{a + b}}}$.\n")
    return out


def bench_training(model, vocab: int, batch: int, context: int, steps: int, lr: float) -> float:
    """Seconds per training step (after one warm-up step) of AdamW on random token batches."""
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.1)
    gen = torch.Generator().manual_seed(0)
    times = []
    for step in range(steps + 1):
        ids = torch.randint(0, vocab, (batch, context), generator=gen).to(model.device)
        t0 = time.perf_counter()
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if step:  # the first step pays for allocation and lazy init
            times.append(time.perf_counter() - t0)
    return sum(times) / len(times)


def bench_sampling(model, tok, prompts: list[str], new_tokens: int) -> tuple[float, float]:
    """Generated tokens/s: (our KV-cache loop, HF model.generate), greedy, one batch of len(prompts)."""
    model.eval()
    t0 = time.perf_counter()
    outs = generate(model, tok, prompts, max_new_tokens=new_tokens, batch_size=len(prompts))
    ours = sum(o.n_tokens for o in outs) / (time.perf_counter() - t0)
    tok.padding_side = "left"
    enc = tok(prompts, return_tensors="pt", padding=True).to(model.device)
    tok.padding_side = "right"
    t0 = time.perf_counter()
    with torch.inference_mode():
        seqs = model.generate(**enc, max_new_tokens=new_tokens, do_sample=False, pad_token_id=tok.pad_token_id)
    new = seqs[:, enc["input_ids"].shape[1]:]
    n_hf = int((new != tok.pad_token_id).sum())  # rows that hit eos are padded afterwards
    return ours, n_hf / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=["tiny-s", "tiny", "tiny-l"], choices=list(MODEL_SIZES))
    ap.add_argument("--context", type=int, default=256)
    ap.add_argument("--batch", type=int, default=16, help="training sequences per step")
    ap.add_argument("--train-steps", type=int, default=8)
    ap.add_argument("--sample-batch", type=int, default=64)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--vocab", type=int, default=1024)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    tok = train_tokenizer(synthetic_texts(5000), vocab_size=args.vocab)
    prompts = [t.split("How many")[0] + "How many now?" for t in synthetic_texts(args.sample_batch, seed=1)]
    print(f"torch {torch.__version__}, {args.threads} threads, vocab {len(tok)}, context {args.context}, "
          f"train batch {args.batch}, sample batch {args.sample_batch} x {args.new_tokens} new tokens")
    print(f"{'size':8} {'params':>8} {'train tok/s':>12} {'s / 1M tok':>11} {'ours tok/s':>11} {'HF tok/s':>9}")
    for name in args.sizes:
        model = build_model(ModelConfig(size=name, context_length=args.context), tok, seed=0)
        step = bench_training(model, len(tok), args.batch, args.context, args.train_steps, MODEL_SIZES[name].lr)
        train_tps = args.batch * args.context / step
        ours, hf = bench_sampling(model, tok, prompts, args.new_tokens)
        print(f"{name:8} {count_parameters(model) / 1e6:7.2f}M {train_tps:12,.0f} {1e6 / train_tps:11.1f} "
              f"{ours:11,.0f} {hf:9,.0f}", flush=True)


if __name__ == "__main__":
    main()
