"""Sampler throughput: dsmath_lib.sampling.generate against HF `model.generate` on the same rows, side by side.

    python bench/bench_sampler.py                       # both shapes and the batch sweep, about 3 minutes
    python bench/bench_sampler.py --repeats 5 --sweep 128 256 --threads 2

(a) rollout shape: 32 prompts x num_samples 8, 96 new tokens, temperature 1, a fresh tiny-s model (its
near-flat distribution rarely picks eos, so almost every row runs the full 96 tokens).
(b) evaluation shape: 64 prompts, greedy, 160 new tokens, rows stopping at eos after their answer: tiny-s
trained for --train-seconds (a plain AdamW loop on bench_model's synthetic word problems, packed by
dsmath_lib.train.pack_documents, each ending "The answer is $\\boxed{N}$.\\n<|eos|>"), prompts cut after a
random number of words, from the prose to the answer, so each row has a different amount left to write
before its eos.
(c) tool rounds: the evaluation model on 64 prompts of two full problems and a cut one, greedy, writing
until "="; a calculator appends the sum before it and those rows continue, up to 3 rounds (eval.prompting's
tool loop, with a calculator for the sandbox). Ours with a sampling.PrefixCache against ours prefilling the
whole context again each round, the texts checked equal.
Ours is generate's default engine (the lean one, for this Llama model). HF generate runs the same rows
with the same stopping: eos, <|pad|> and <|bos|> suppressed, sampling from the full distribution
(top_k=0), all rows in one batch. Both count the generated tokens kept (up to and including eos).
Figures are medians of --repeats runs, with their range, ours and HF alternating so both see the same load; the load
average is printed because the machine is shared. One thread by default: on 2 cores shared with other
jobs, two threads make both engines' many small operations wait on each other. Then a batch-size
sweep of our sampler on shape (a) with 64 prompts, the measurement behind sampling.DEFAULT_BATCH_SIZE.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

from bench_model import synthetic_texts
from dsmath_lib.config import ModelConfig
from dsmath_lib.model import MODEL_SIZES, build_model
from dsmath_lib.sampling import DEFAULT_BATCH_SIZE, PrefixCache, generate, lean_supported
from dsmath_lib.tokenizer import train_tokenizer
from dsmath_lib.train import pack_documents


def train_briefly(model, tok, seconds: float, context: int = 128, batch: int = 16) -> tuple[int, float]:
    """AdamW on packed synthetic word problems for `seconds`; returns (steps, last loss)."""
    texts = synthetic_texts(20000, seed=2)
    rows = torch.from_numpy(pack_documents(tok(texts)["input_ids"], context, tok.eos_token_id)).long()
    opt = torch.optim.AdamW(model.parameters(), lr=MODEL_SIZES["tiny-s"].lr, weight_decay=0.1)
    gen = torch.Generator().manual_seed(0)
    model.train()
    steps, loss, t0 = 0, float("nan"), time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        ids = rows[torch.randint(0, len(rows), (batch,), generator=gen)]
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        steps += 1
    return steps, loss.item()


def cut_prompts(n: int, seed: int = 1) -> list[str]:
    """Word problems cut after a random number of words, anywhere from the prose to the answer, so what is
    left to write before the eos (the rest of the problem, its sum and its answer) varies from row to row."""
    rng = random.Random(seed)
    out = []
    for text in synthetic_texts(n, seed=seed):
        words = text.split(" ")
        out.append(" ".join(words[: rng.randint(2, len(words) - 1)]))
    return out


def ours(model, tok, prompts, **kw) -> tuple[float, int]:
    """(seconds, generated tokens kept) of dsmath_lib.sampling.generate."""
    t0 = time.perf_counter()
    outs = generate(model, tok, prompts, **kw)
    return time.perf_counter() - t0, sum(o.n_tokens for o in outs)


def hf(model, tok, prompts, *, max_new_tokens, temperature=0.0, num_samples=1) -> tuple[float, int]:
    """(seconds, generated tokens kept) of HF model.generate on the same rows in one batch."""
    tok.padding_side = "left"
    enc = tok(prompts, return_tensors="pt", padding=True)
    tok.padding_side = "right"
    sampling = dict(do_sample=True, temperature=temperature, top_k=0, top_p=1.0) if temperature > 0 else \
        dict(do_sample=False)
    t0 = time.perf_counter()
    with torch.inference_mode():
        seqs = model.generate(**enc, max_new_tokens=max_new_tokens, num_return_sequences=num_samples,
                              pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
                              suppress_tokens=[tok.pad_token_id, tok.bos_token_id], **sampling)
    seconds = time.perf_counter() - t0
    new = seqs[:, enc["input_ids"].shape[1] :]
    return seconds, int((new != tok.pad_token_id).sum())  # pad is never sampled: it marks rows after their eos


SUM_BEFORE_EQUALS = re.compile(r"(\d+) \+ (\d+) ?$")


def tool_rounds(model, tok, prompts, cache, rounds: int = 3) -> tuple[float, int, list[str]]:
    """(seconds, generated tokens kept, texts) of a tool loop with a calculator for a tool: rows generate until
    they write "=", the calculator appends the sum before it, and those rows generate again (at most `rounds`
    calls), as eval.prompting's loop does with code blocks. cache: a PrefixCache, or None to prefill the whole
    context again every round."""
    texts, active, tokens = [""] * len(prompts), list(range(len(prompts))), 0
    t0 = time.perf_counter()
    for _ in range(rounds):
        if not active:
            break
        outs = generate(model, tok, [prompts[i] + texts[i] for i in active], max_new_tokens=64, stop=["="],
                        prefix_cache=cache)
        stopped = []
        for i, o in zip(active, outs):
            texts[i] += o.text
            tokens += o.n_tokens
            if o.finish_reason == "stop":
                found = SUM_BEFORE_EQUALS.search(texts[i])
                texts[i] += "= " + (str(int(found[1]) + int(found[2])) if found else "0")
                stopped.append(i)
        active = stopped
    return time.perf_counter() - t0, tokens, texts


def compare_tool_rounds(model, tok, prompts, repeats: int) -> None:
    """Shape (c): the tool loop with the prefix cache and without it, alternating; the texts must agree."""
    runs, same, cache = [], True, None
    for _ in range(repeats):
        cache = PrefixCache()
        with_cache, without = tool_rounds(model, tok, prompts, cache), tool_rounds(model, tok, prompts, None)
        same &= with_cache[2] == without[2]
        runs.append((with_cache[1] / with_cache[0], without[1] / without[0]))
    cached, plain = [r[0] for r in runs], [r[1] for r in runs]
    ratios = [a / b for a, b in runs]
    print(f"{'(c) tool rounds 64, greedy, calc':34} {with_cache[1]:7d} {statistics.median(cached):10,.0f} "
          f"{without[1]:7d} {statistics.median(plain):9,.0f} {statistics.median(ratios):6.2f}x  "
          f"(HF column: ours without the prefix cache) same texts: {same}; cache served {cache.hits} rows, "
          f"{cache.reused_tokens} prompt tokens not prefilled; ratio {min(ratios):.2f}-{max(ratios):.2f}x", flush=True)


def median_rate(fn, repeats: int) -> tuple[float, int]:
    """(median tokens/s, tokens of the last run) over `repeats` runs of fn() -> (seconds, tokens)."""
    runs = [fn() for _ in range(repeats)]
    return statistics.median(n / s for s, n in runs), runs[-1][1]


def compare(name: str, model, tok, prompts, repeats: int, **kw) -> None:
    """Ours and HF generate on the same rows, runs alternating so that both see the same load; medians, with
    the range over the runs so a reader sees whether the figure held still."""
    model.eval()
    hf_kw = dict(max_new_tokens=kw["max_new_tokens"], temperature=kw.get("temperature", 0.0),
                 num_samples=kw.get("num_samples", 1))
    runs = [(ours(model, tok, prompts, **kw), hf(model, tok, prompts, **hf_kw)) for _ in range(repeats)]
    ours_rates = [n / s for (s, n), _ in runs]
    hf_rates = [n / s for _, (s, n) in runs]
    ratios = sorted(a / b for a, b in zip(ours_rates, hf_rates))
    ours_tps, hf_tps = statistics.median(ours_rates), statistics.median(hf_rates)
    (_, n_ours), (_, n_hf) = runs[-1]
    print(f"{name:34} {n_ours:>7} {ours_tps:>10,.0f} {n_hf:>7} {hf_tps:>9,.0f} {ours_tps / hf_tps:>6.2f}x  "
          f"range: ours {min(ours_rates):,.0f}-{max(ours_rates):,.0f}, HF {min(hf_rates):,.0f}-{max(hf_rates):,.0f}, "
          f"ratio {ratios[0]:.2f}-{ratios[-1]:.2f}x; load {os.getloadavg()[0]:.2f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--train-seconds", type=float, default=45.0)
    ap.add_argument("--sweep", type=int, nargs="*", default=[32, 64, 128, 256, 512], help="batch sizes; none to skip")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tok = train_tokenizer(synthetic_texts(5000), vocab_size=1024)
    cfg = ModelConfig(size="tiny-s", context_length=256)
    fresh = build_model(cfg, tok, seed=0)
    engine = "lean" if lean_supported(fresh) else "reference"
    print(f"torch {torch.__version__}, {args.threads} threads, vocab {len(tok)}, tiny-s, our engine {engine}, "
          f"median of {args.repeats}, load average {os.getloadavg()}")
    print(f"{'shape':34} {'tokens':>7} {'ours tok/s':>10} {'tokens':>7} {'HF tok/s':>9} {'ratio':>7}")

    rollout_prompts = [t.split("How many")[0] + "How many now?" for t in synthetic_texts(32, seed=1)]
    rollout = dict(max_new_tokens=96, temperature=1.0, num_samples=8, seed=0)
    compare("(a) rollout 32 x 8, 96 tok, T=1", fresh, tok, rollout_prompts, args.repeats, **rollout)

    trained = build_model(cfg, tok, seed=0)
    steps, loss = train_briefly(trained, tok, args.train_seconds)
    outs = generate(trained.eval(), tok, cut_prompts(64), max_new_tokens=160)
    lengths = sorted(o.n_tokens for o in outs)
    print(f"    evaluation model: {steps} AdamW steps in {args.train_seconds:.0f} s, loss {loss:.2f}; "
          f"{sum(o.finish_reason == 'eos' for o in outs)}/64 rows stop at eos, lengths min {lengths[0]} "
          f"median {lengths[32]} max {lengths[-1]}")
    compare("(b) evaluation 64, greedy, 160 tok", trained, tok, cut_prompts(64), args.repeats, max_new_tokens=160)
    context = ["".join(synthetic_texts(2, seed=100 + i)) + cut for i, cut in enumerate(cut_prompts(64))]
    compare_tool_rounds(trained, tok, context, args.repeats)

    if args.sweep:  # twice shape (a)'s prompts, so that every batch size in the sweep fills its batches
        sweep_prompts = [t.split("How many")[0] + "How many now?" for t in synthetic_texts(64, seed=1)]
        print(f"batch-size sweep, 64 prompts x 8 as in (a), ours tok/s (default {DEFAULT_BATCH_SIZE}):")
        for b in args.sweep:
            tps, _ = median_rate(lambda: ours(fresh, tok, sweep_prompts, batch_size=b, **rollout), args.repeats)
            print(f"    batch_size {b:4}: {tps:8,.0f}   load {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
