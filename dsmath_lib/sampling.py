"""Batched sampling with a KV cache: greedy, temperature and top-p, stop strings, seeded, with logprobs.

    from dsmath_lib.sampling import generate
    outs = generate(model, tokenizer, prompts, max_new_tokens=256, temperature=0.7, num_samples=8,
                    stop=["\\n\\nQuestion:"], seed=0, return_logprobs=True)
    outs[i * 8 + j].text        # sample j of prompt i (groups of num_samples are contiguous)

Our own decode loop over the HF model's forward, rather than `model.generate`, so that the loop is
visible and small: prompts are LEFT-padded so every row's next token sits in the last column, the
attention mask hides the padding, and position ids count real tokens only (a row's first real token
is position 0 however much padding precedes it). Prompts are sorted by length and split into batches
of `batch_size` rows to reduce padding; results come back in input order.

Randomness comes from one `torch.Generator` seeded with `seed`: the same prompts, seed and batch
size give the same samples, and the global torch RNG is neither used nor disturbed.

Departures from the paper: the paper samples with vLLM-scale engines; at gpu/paper scale vLLM is the
optional engine, this loop is the CPU path and the reference the tests check.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm
from transformers import DynamicCache


@dataclass
class Completion:
    """One sampled continuation of one prompt.

    token_ids are the sampled tokens, up to and including the <|eos|> or the token that completed a
    stop string; text is their decoding with the eos and the stop string (and anything after it)
    removed. logprobs[t] = log pi(token_ids[t] | prefix) under the sampling temperature, before top-p, with
    <|pad|> and <|bos|> excluded (temperature 0 reports the model's own distribution, renormalised the same
    way); None unless asked for. These are the sampler's numbers, not the policy's: RL recomputes
    log-probabilities at temperature 1 (dsmath_lib.rl.rollout.token_logprobs).
    """

    text: str
    token_ids: list[int]
    finish_reason: str  # "stop" (a stop string), "eos", or "length" (max_new_tokens reached)
    prompt_index: int  # position of the prompt in the input list
    sample_index: int  # 0..num_samples-1 within the prompt's group
    logprobs: torch.Tensor | None = field(default=None, repr=False)  # (n_tokens,) float32

    @property
    def n_tokens(self) -> int:
        return len(self.token_ids)


def left_pad(rows: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Left-pad token lists into (ids, attention_mask, position_ids), each (B, P).

    >>> ids, mask, pos = left_pad([[5, 6, 7], [8]], pad_id=0)
    >>> ids.tolist(), mask.tolist(), pos.tolist()
    ([[5, 6, 7], [0, 0, 8]], [[1, 1, 1], [0, 0, 1]], [[0, 1, 2], [0, 0, 0]])
    """
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        if row:
            ids[i, width - len(row) :] = torch.tensor(row, dtype=torch.long)
            mask[i, width - len(row) :] = 1
    pos = (mask.cumsum(-1) - 1).clamp(min=0)  # real tokens count 0, 1, 2...; padding sits at 0, masked
    return ids, mask, pos


def pick_next(
    logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Choose one token per row from logits (B, V); return (tokens (B,), their logprobs (B,)).

    temperature 0 is greedy (argmax); otherwise sample from softmax(logits / T) restricted to the
    smallest set of tokens whose probability reaches top_p (nucleus sampling).

    >>> g = torch.Generator().manual_seed(0)
    >>> pick_next(torch.tensor([[0.0, 3.0, 1.0]]), 0.0, 1.0, g)[0].tolist()
    [1]
    """
    logits = logits.float()
    scaled = logits / temperature if temperature > 0 else logits
    logp = torch.log_softmax(scaled, dim=-1)  # (B, V)
    if temperature <= 0:
        tokens = logits.argmax(dim=-1)
    else:
        probs = logp.exp()
        if top_p < 1.0:
            sorted_p, order = probs.sort(dim=-1, descending=True)
            # drop a token when the tokens ranked above it already reach top_p (the first always stays)
            drop = (sorted_p.cumsum(-1) - sorted_p) >= top_p
            sorted_p = sorted_p.masked_fill(drop, 0.0)
            probs = torch.zeros_like(probs).scatter(-1, order, sorted_p)
        tokens = torch.multinomial(probs, 1, generator=generator).squeeze(-1)
    return tokens, logp.gather(-1, tokens[:, None]).squeeze(-1)


def find_stop(text: str, stop: Sequence[str]) -> int:
    """Index of the earliest stop string in text, or -1.

    >>> find_stop("x = 2\\nQ: next", ["\\nQ:", "zz"])
    5
    """
    hits = [i for i in (text.find(s) for s in stop if s) if i >= 0]
    return min(hits) if hits else -1


def _eos_ids(model, tokenizer) -> set[int]:
    ids = {tokenizer.eos_token_id}
    gen_eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids.update(gen_eos if isinstance(gen_eos, list) else [gen_eos])
    return {i for i in ids if i is not None}


def never_sampled(tokenizer, eos_ids: set[int]) -> list[int]:
    """Token ids the sampler must never emit: padding and <|bos|> are not content (an untrained model would
    otherwise sample <|pad|>, which the RL loss would then train on). An eos that doubles as pad stays allowed."""
    ids = {tokenizer.pad_token_id, tokenizer.bos_token_id} - set(eos_ids) - {None}
    return sorted(ids)


def _decode_batch(model, tokenizer, rows, *, max_new_tokens, temperature, top_p, stop, eos_ids, generator):
    """Sample continuations for one batch of prompt token lists; returns [(ids, logprobs, reason)]."""
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    ids, mask, pos = left_pad(rows, pad_id)
    n = len(rows)
    cache = DynamicCache(config=model.config)
    out = model(input_ids=ids, attention_mask=mask, position_ids=pos, past_key_values=cache, use_cache=True,
                logits_to_keep=1)
    next_pos = pos[:, -1] + 1  # (B,) position of the token about to be generated
    new_tokens, new_logps = [], []  # one (B,) tensor per step
    reason = [""] * n  # "" while a row is live
    n_live = [0] * n  # tokens each row generated before it finished
    stop_window = max((len(s.encode()) for s in stop), default=0) + 4  # tokens that can hold a stop string
    eos = torch.tensor(sorted(eos_ids), dtype=torch.long)
    never = torch.tensor(never_sampled(tokenizer, eos_ids), dtype=torch.long)
    for step in range(max_new_tokens):
        logits = out.logits[:, -1, :].index_fill(-1, never, float("-inf"))  # (B, V), pad/bos impossible
        tokens, logps = pick_next(logits, temperature, top_p, generator)
        done = torch.tensor([r != "" for r in reason])
        tokens = tokens.masked_fill(done, pad_id)  # finished rows stop growing: padding, dropped at the end
        new_tokens.append(tokens)
        new_logps.append(logps)
        live = [i for i in range(n) if not reason[i]]
        for i in live:
            n_live[i] += 1
        for i in torch.nonzero(~done & torch.isin(tokens, eos)).flatten().tolist():
            reason[i] = "eos"
        if stop:
            tail = torch.stack(new_tokens[-stop_window:], dim=1)  # (B, <=window): only new text can match
            for i in live:
                if not reason[i] and find_stop(tokenizer.decode(tail[i].tolist()), stop) >= 0:
                    reason[i] = "stop"
        if all(reason) or step == max_new_tokens - 1:
            break
        mask = torch.cat([mask, torch.ones((n, 1), dtype=mask.dtype)], dim=1)
        out = model(input_ids=tokens[:, None], attention_mask=mask, position_ids=next_pos[:, None],
                    past_key_values=cache, use_cache=True)
        next_pos = next_pos + 1
    tokens, logps = torch.stack(new_tokens, 1), torch.stack(new_logps, 1)  # (B, T)
    return [
        (tokens[i, : n_live[i]].tolist(), logps[i, : n_live[i]], reason[i] or "length") for i in range(n)
    ]


def _to_completion(tokenizer, token_ids, logps, why, stop, prompt_index, sample_index) -> Completion:
    body = token_ids[:-1] if why == "eos" else token_ids  # the eos token is not text
    text = tokenizer.decode(body)
    if why == "stop":
        text = text[: find_stop(text, stop)]
    return Completion(text, token_ids, why, prompt_index, sample_index, logps)


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
    batch_size: int = 64,
    num_samples: int = 1,
    progress: bool = False,
    return_logprobs: bool = False,
) -> list[Completion]:
    """Sample `num_samples` continuations of every prompt; a flat list grouped per prompt.

    Order: result[i * num_samples + j] is sample j of prompts[i] (reshape to (len(prompts),
    num_samples) for GRPO groups or Maj@K votes). Prompts are tokenized with the tokenizer's own
    special tokens (our BPE prepends <|bos|>). A row stops at an eos token, when its text contains
    a stop string, or after max_new_tokens; the batch ends when every row has stopped. <|pad|> and
    <|bos|> are never sampled (see never_sampled).
    """
    if not prompts or num_samples < 1:
        return []
    stop = tuple(stop)
    encoded = tokenizer(list(prompts))["input_ids"]
    empty = [i for i, e in enumerate(encoded) if not e]
    if empty:
        raise ValueError(f"generate: prompt {empty[0]} encodes to no tokens (this tokenizer adds no <|bos|>)")
    jobs = [(i, j) for i in range(len(prompts)) for j in range(num_samples)]
    jobs.sort(key=lambda ij: len(encoded[ij[0]]))  # stable: a prompt's samples stay together
    longest = max(len(e) for e in encoded) + max_new_tokens
    limit = getattr(model.config, "max_position_embeddings", None)
    if limit and longest > limit:
        warnings.warn(f"generate: prompt + max_new_tokens reaches {longest} tokens, past the model's context {limit}",
                      stacklevel=2)
    generator = torch.Generator().manual_seed(seed)
    eos_ids = _eos_ids(model, tokenizer)
    raw = []  # (prompt i, sample j, token ids, logprobs, finish reason), in sorted order
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for start in tqdm(range(0, len(jobs), batch_size), desc="sampling", disable=not progress):
                batch = jobs[start : start + batch_size]
                outs = _decode_batch(model, tokenizer, [encoded[i] for i, _ in batch], max_new_tokens=max_new_tokens,
                                     temperature=temperature, top_p=top_p, stop=stop, eos_ids=eos_ids,
                                     generator=generator)
                raw.extend((i, j, *out) for (i, j), out in zip(batch, outs))
    finally:
        model.train(was_training)
    results: list[Completion | None] = [None] * len(jobs)
    for i, j, ids, logps, why in raw:
        # cloned outside inference mode, so an RL loss can combine the logprobs with autograd tensors
        keep = logps.clone() if return_logprobs else None
        results[i * num_samples + j] = _to_completion(tokenizer, ids, keep, why, stop, i, j)
    return results
