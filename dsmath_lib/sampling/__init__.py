"""Batched sampling with a KV cache: greedy, temperature and top-p, stop strings, seeded, with logprobs.

    from dsmath_lib.sampling import generate
    outs = generate(model, tokenizer, prompts, max_new_tokens=256, temperature=0.7, num_samples=8,
                    stop=["\\n\\nQuestion:"], seed=0, return_logprobs=True)
    outs[i * 8 + j].text        # sample j of prompt i (groups of num_samples are contiguous)
    generate(..., engine="reference")                # the plain loop over the HF forward, for checking

Modules: decoding (what both engines share: records, padding, the random stream, stops), lean and reference
(the two engines), prefix (keys and values kept between calls, for the tool loop); this file is the entry
point, `generate`.

Our own decode loop rather than `model.generate`, so that the loop is visible and small. Both engines
LEFT-pad prompts so every row's next token sits in the last column, mask the padding, and count
positions over real tokens only (a row's first real token is position 0 however much padding precedes
it). Prompts are sorted by length and split into batches of `batch_size` rows to reduce padding;
results come back in input order.

- "lean" (chosen by "auto" for LlamaForCausalLM and Qwen2ForCausalLM, every model this study builds):
  the model's own modules (embeddings, norms, q/k/v/o projections, rotary embedding, MLP, final norm,
  lm_head) in a decode loop of our own over a preallocated cache written in place (LeanCache), with no
  concatenation per step. Each distinct prompt of a batch is prefilled once, in runs of similar length
  (SDPA within each run), and its keys and values are shared by all its samples, which read them in
  one grouped matmul; each row stores only its own tokens. A row that stops leaves the batch (the last
  live rows move into the freed slots), so compute shrinks as rows stop, and a stop string is looked for
  only after a token that can end one (stop_triggers). It calls the model's submodules, not
  model.forward, so a model with forward hooks on itself or its trunk gets the reference engine.
- "reference" (any other architecture, and the engine the tests check against): the HF model's forward
  with a DynamicCache; every row prefilled, computed and decoded every step until the batch ends.
Both compute on the model's device.

Random stream (the contract both engines keep): one `torch.Generator` seeded with `seed` gives every
output row k = i * num_samples + j its own seed, in output order (row_seeds); that row's t-th new token
uses the t-th uniform of its own stream (row_uniforms), turned into a token by inverse CDF (draw). So
a row's tokens depend on its prompt, `seed` and k only: not on batch_size, the other prompts, when
other rows stop, nor the engine (up to float rounding of the logits, which could flip a draw landing
within ~1e-6 of a slice boundary, or a greedy near-tie); and num_samples=G gives the same samples as G
adjacent copies of the prompt with num_samples=1. The global torch RNG is neither used nor disturbed.

Departures from the paper: the paper samples with vLLM-scale engines; at gpu/paper scale vLLM is the
optional engine, this loop is the CPU path.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch
from tqdm.auto import tqdm

from dsmath_lib.sampling.decoding import (Completion, Decoding, draw, eos_ids, find_stop, left_pad, never_sampled,
                                          pick_next, position_ids, row_seeds, row_uniforms, stop_triggers)
from dsmath_lib.sampling.lean import LEAN_ARCHITECTURES, lean_batch, lean_supported
from dsmath_lib.sampling.prefix import PrefixCache
from dsmath_lib.sampling.reference import reference_batch

# Rows per batch, measured with bench/bench_sampler.py (tiny-s, 64 prompts x 8 samples, 96 tokens, one
# thread of 2 shared cores): the lean engine made 8.5K, 11.7K, 14.0K, 14.6K and 13.9K tokens/s at 32, 64,
# 128, 256 and 512 rows; past 256 the cache outgrows what the memory system serves well.
DEFAULT_BATCH_SIZE = 256

__all__ = ["DEFAULT_BATCH_SIZE", "LEAN_ARCHITECTURES", "Completion", "Decoding", "PrefixCache", "draw", "find_stop",
           "generate", "lean_supported", "left_pad", "never_sampled", "pick_next", "position_ids", "row_seeds",
           "row_uniforms", "stop_triggers"]


def _to_completion(tokenizer, token_ids, logps, why, stop, prompt_index, sample_index) -> Completion:
    body = token_ids[:-1] if why == "eos" else token_ids  # the eos token is not text
    text = tokenizer.decode(body)
    if why == "stop":
        text = text[: find_stop(text, stop)]
    return Completion(text, token_ids, why, prompt_index, sample_index, logps)


def _engine(model, engine: str):
    """The batch function for engine "auto" (lean where supported, else reference), "lean" or "reference"."""
    if engine not in ("auto", "lean", "reference"):
        raise ValueError(f"generate: engine={engine!r}; choose 'auto', 'lean' or 'reference'")
    if engine == "lean" and not lean_supported(model):
        raise ValueError(f"generate: engine='lean' runs {', '.join(LEAN_ARCHITECTURES)} without model-level hooks "
                         f"or sliding windows, not this {type(model).__name__}")
    lean = engine == "lean" or (engine == "auto" and lean_supported(model))
    return lean_batch if lean else reference_batch


def _decoding(model, tokenizer, batch_fn, *, max_new_tokens, temperature, top_p, stop) -> Decoding:
    """The settings every batch shares, on the model's device, where both engines compute."""
    device = model.get_output_embeddings().weight.device
    eos = eos_ids(model, tokenizer)
    triggers = None
    if stop and batch_fn is lean_batch:
        triggers = stop_triggers(tokenizer, stop, model.get_output_embeddings().weight.shape[0]).to(device)
    return Decoding(max_new_tokens, temperature, top_p, stop,
                    eos=torch.tensor(sorted(eos), dtype=torch.long, device=device),
                    never=torch.tensor(never_sampled(tokenizer, eos), dtype=torch.long, device=device),
                    pad_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0, triggers=triggers)


def generate(
    model,
    tokenizer,
    prompts: Sequence[str],
    *,
    max_new_tokens: int,
    temperature: float = 0.0,
    top_p: float = 1.0,
    stop: Sequence[str] = (),
    seed: int = 0,
    batch_size: int = DEFAULT_BATCH_SIZE,
    num_samples: int = 1,
    progress: bool = False,
    return_logprobs: bool = False,
    engine: str = "auto",
    prefix_cache: PrefixCache | None = None,
) -> list[Completion]:
    """Sample `num_samples` continuations of every prompt; a flat list grouped per prompt.

    Order: result[i * num_samples + j] is sample j of prompts[i] (reshape to (len(prompts),
    num_samples) for GRPO groups or Maj@K votes). Prompts are tokenized with the tokenizer's own
    special tokens (our BPE prepends <|bos|>). A row stops at an eos token, when its text contains
    a stop string, or after max_new_tokens; the batch ends when every row has stopped. <|pad|> and
    <|bos|> are never sampled (see never_sampled). engine: "auto" (lean where supported), "lean" or
    "reference" (see the module docstring); the random stream is the same for all of them.
    prefix_cache: keys and values kept between calls (sampling.prefix, the tool loop): a prompt that continues
    a row of the previous call after its stop string reuses them, and this call's stopped rows are kept for
    the next. The lean engine only; the reference engine neither reads nor fills it.
    """
    if not prompts or num_samples < 1:
        return []
    stop = tuple(stop)
    encoded = tokenizer(list(prompts))["input_ids"]
    empty = [i for i, e in enumerate(encoded) if not e]
    if empty:
        raise ValueError(f"generate: prompt {empty[0]} encodes to no tokens (this tokenizer adds no <|bos|>)")
    first = {}  # equal prompts sort together, so a batch prefills each distinct prompt once
    jobs = [(i, j) for i in range(len(prompts)) for j in range(num_samples)]
    jobs.sort(key=lambda ij: (len(encoded[ij[0]]), first.setdefault(tuple(encoded[ij[0]]), ij[0])))
    longest = max(len(e) for e in encoded) + max_new_tokens
    limit = getattr(model.config, "max_position_embeddings", None)
    if limit and longest > limit:
        warnings.warn(f"generate: prompt + max_new_tokens reaches {longest} tokens, past the model's context {limit}",
                      stacklevel=2)
    batch_fn = _engine(model, engine)
    d = _decoding(model, tokenizer, batch_fn, max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p,
                  stop=stop)
    seeds = row_seeds(seed, len(jobs)) if temperature > 0 else None  # indexed by output row
    cache = prefix_cache if batch_fn is lean_batch else None
    reused = None
    if cache is not None:  # take this call's prefixes, then drop what it did not claim
        reused = [cache.take(p, e, stop) for p, e in zip(prompts, encoded)]
        cache.clear()
    raw = []  # (prompt i, sample j, token ids, logprobs, finish reason), in sorted order
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for start in tqdm(range(0, len(jobs), batch_size), desc="sampling", disable=not progress):
                batch = jobs[start : start + batch_size]
                uniforms = None if seeds is None else row_uniforms(
                    [seeds[i * num_samples + j] for i, j in batch], max_new_tokens).to(d.eos.device)
                reuse = {} if cache is None else {"prefixes": [reused[i] for i, _ in batch],
                                                  "keep": cache.keeper([i * num_samples + j for i, j in batch])}
                outs = batch_fn(model, tokenizer, [encoded[i] for i, _ in batch], d, uniforms, **reuse)
                raw.extend((i, j, *out) for (i, j), out in zip(batch, outs))
    finally:
        model.train(was_training)
    results: list[Completion | None] = [None] * len(jobs)
    for i, j, ids, logps, why in raw:
        # cloned outside inference mode, so an RL loss can combine the logprobs with autograd tensors
        keep = logps.clone() if return_logprobs else None
        results[i * num_samples + j] = _to_completion(tokenizer, ids, keep, why, stop, i, j)
        if cache is not None:
            cache.file(i * num_samples + j, prompts[i] + results[i * num_samples + j].text)
    return results
