"""The lean engine: a Llama or Qwen2 model's own modules in a decode loop of our own, over a preallocated
cache written in place, live rows only (see dsmath_lib.sampling for what it does and why)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F

from dsmath_lib.sampling.decoding import Decoding, find_stop, left_pad, pick_next
from dsmath_lib.sampling.prefix import CachedRow

# One block layout; Qwen2's q/k/v biases live inside the nn.Linear modules the lean engine calls.
LEAN_ARCHITECTURES = ("LlamaForCausalLM", "Qwen2ForCausalLM")


def lean_supported(model) -> bool:
    """Whether the lean engine can run `model`: a Llama or Qwen2 causal LM with full attention in every
    layer and no forward hooks on the model or its trunk (the lean loop calls neither's forward)."""
    if type(model).__name__ not in LEAN_ARCHITECTURES:
        return False
    hooked = any(m._forward_hooks or m._forward_pre_hooks for m in (model, model.model))
    windowed = any(getattr(layer.self_attn, "sliding_window", None) for layer in model.model.layers)
    return not hooked and not windowed


@dataclass
class LeanCache:
    """Keys and values of every layer for one batch, preallocated and written in place: the prompts' columns
    once per distinct prompt (all its samples read them), each row's generated columns per row. When no
    prompt repeats (evaluation), both parts are views of one tensor per row, `whole`, so a row attends to
    its prompt and its own tokens in one product."""

    prompt_keys: torch.Tensor  # (layers, U, kv_heads, W, D)
    prompt_values: torch.Tensor  # (layers, U, kv_heads, W, D)
    keys: torch.Tensor  # (layers, B, kv_heads, T, D): the rows' generated tokens
    values: torch.Tensor  # (layers, B, kv_heads, T, D)
    whole: tuple[torch.Tensor, torch.Tensor] | None = None  # (keys, values) of W + T columns, when U == B

    @staticmethod
    def empty(model, prompts: int, width: int, rows: int, steps: int) -> LeanCache:
        layers, attn = model.model.layers, model.model.layers[0].self_attn
        w, d = attn.k_proj.weight, attn.head_dim
        kv_heads = w.shape[0] // d

        def new(n, cols):
            return torch.empty((len(layers), n, kv_heads, cols, d), dtype=w.dtype, device=w.device)

        if prompts < rows:
            return LeanCache(new(prompts, width), new(prompts, width), new(rows, steps), new(rows, steps))
        k, v = new(rows, width + steps), new(rows, width + steps)
        return LeanCache(k[:, :, :, :width], v[:, :, :, :width], k[:, :, :, width:], v[:, :, :, width:], (k, v))

    def copy_rows(self, dst: torch.Tensor, src: torch.Tensor, cols: int) -> None:
        """Rows src (their first `cols` generated columns) copied to rows dst, in every layer."""
        self.keys[:, dst, :, :cols] = self.keys[:, src, :, :cols]
        self.values[:, dst, :, :cols] = self.values[:, src, :, :cols]

    def copy_prompts(self, dst: torch.Tensor, src: torch.Tensor) -> None:
        self.prompt_keys[:, dst] = self.prompt_keys[:, src]
        self.prompt_values[:, dst] = self.prompt_values[:, src]


def _swap_plan(done: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """How to drop the slots marked done (n,): (order, holes, donors). Slot i afterwards holds what slot
    order[i] held; the last live slots move into the freed ones (holes <- donors), so a cache copies only
    as many slots as were freed, and the live ones end up in [0, n_live).

    >>> [t.tolist() for t in _swap_plan(torch.tensor([True, False, True, False, False]))]
    [[3, 1, 4], [0, 2], [3, 4]]
    """
    n_live = int((~done).sum())
    holes = torch.nonzero(done[:n_live]).flatten()
    donors = n_live + torch.nonzero(~done[n_live:]).flatten()
    return torch.arange(n_live, device=done.device).index_copy(0, holes, donors), holes, donors


@dataclass(frozen=True)
class LiveRows:
    """The rows still generating, one per slot [0, n), and how their slots group by prompt-cache slot.

    >>> live = LiveRows.of(torch.arange(3), torch.tensor([0, 0, 1]), torch.tensor([4, 4, 2]), torch.tensor([0, 0, 2]))
    >>> live.groups.tolist(), live.rank.tolist()  # prompt 1's row pads its group with slot 0
    ([[0, 1], [2, 0]], [0, 1, 0])
    >>> live, order = live.drop(torch.tensor([False, False, True]), LeanCache(*[torch.zeros(1, 3, 1, 1, 1)] * 4), 0)
    >>> live.prompt.tolist(), live.groups.tolist()  # prompt 1 had no row left: its cache slot is freed
    ([0, 0], [[0, 1]])
    """

    row: torch.Tensor  # (n,) the batch row in each slot
    prompt: torch.Tensor  # (n,) its prompt's slot in the cache; live prompts fill [0, u)
    length: torch.Tensor  # (n,) its prompt's length: the position of its step-s token is length + s
    pad: torch.Tensor  # (n,) padding columns before its prompt in the cache
    groups: torch.Tensor  # (u, G) the slots of each prompt, padded with slot 0 (results there are dropped)
    rank: torch.Tensor  # (n,) the slot's column in groups
    in_order: bool  # slot i holds prompt i's only row

    @staticmethod
    def of(row, prompt, length, pad) -> LiveRows:
        members: list[list[int]] = [[] for _ in range(int(prompt.max()) + 1)]
        rank = []
        for slot, p in enumerate(prompt.tolist()):
            rank.append(len(members[p]))
            members[p].append(slot)
        width = max(len(m) for m in members)
        groups = torch.tensor([m + [0] * (width - len(m)) for m in members], device=prompt.device)
        in_order = width == 1 and prompt.tolist() == list(range(len(members)))
        return LiveRows(row, prompt, length, pad, groups, torch.tensor(rank, device=prompt.device), in_order)

    def drop(self, done: torch.Tensor, cache: LeanCache, filled: int) -> tuple[LiveRows, torch.Tensor]:
        """Without the rows marked done: (live rows, order), slot i now holding old slot order[i]. The cache's
        rows (their first `filled` generated columns) and the prompts no live row reads any more are compacted
        the same way; when every row has its own prompt both follow one plan, so slot i keeps prompt i."""
        order, holes, donors = _swap_plan(done)
        cache.copy_rows(holes, donors, filled)
        prompt = self.prompt[order]
        dead = torch.ones(self.groups.shape[0], dtype=torch.bool, device=done.device).index_fill(0, prompt, False)
        if dead.any():
            kept, holes, donors = _swap_plan(dead)
            cache.copy_prompts(holes, donors)
            new_slot = torch.zeros_like(dead, dtype=torch.long)  # old prompt slot -> new
            prompt = new_slot.index_copy_(0, kept, torch.arange(len(kept), device=kept.device))[prompt]
        return LiveRows.of(self.row[order], prompt, self.length[order], self.pad[order]), order


def _by_prompt(live: LiveRows, x: torch.Tensor, f) -> torch.Tensor:
    """f on x (n, kv_heads, g, ...) regrouped per prompt, (u, kv_heads, G * g, ...), and its result back per
    row (n, kv_heads, g, ...): all samples of a prompt meet the prompt's cache in one matmul."""
    (u, width), kv, g = live.groups.shape, x.shape[1], x.shape[2]
    grouped = x[live.groups].transpose(1, 2).reshape(u, kv, width * g, *x.shape[3:])
    y = f(grouped)
    return y.view(u, kv, width, g, *y.shape[3:]).transpose(1, 2)[live.prompt, live.rank]


def _prefill_chunks(lengths: Sequence[int], budget: int = 512) -> list[tuple[int, int]]:
    """[lo, hi) runs of prompts (lengths ascending) prefilled together, each padded to at most `budget`
    tokens unless one prompt alone is longer: one batch of prompts of 3 to 60 tokens, all padded to 60,
    would spend about half its prefill on padding.

    >>> _prefill_chunks([2, 2, 3, 5, 9], budget=10)
    [(0, 3), (3, 4), (4, 5)]
    """
    chunks, lo = [], 0
    for hi in range(1, len(lengths)):
        if (hi - lo + 1) * lengths[hi] > budget:  # adding prompt hi would pad the run past the budget
            chunks.append((lo, hi))
            lo = hi
    return chunks + [(lo, len(lengths))]


def _prefill_attend(cache: LeanCache, mask, prompts: slice, reused: list | None, layer: int, q, k, v, scale: float):
    """Attention within a run of prompts (q, k, v: (u, heads, s, D); mask (u, 1, s, w) bool), by SDPA. k and v
    fill the last s prompt columns of cache slots `prompts`; the columns before them are zeroed, padding that
    the mask hides (0 x a zero weight, where leftover memory could hold NaN). With reused prefixes (the prefix
    cache; None when it serves none of the run: reused[i] is None or (start column, keys, values) of slot
    prompts.start + i, all layers) the queries are the prompts' uncached tails (s <= w): each prefix is written
    into its columns after the tails, whose left padding may overlap it, and the queries attend to the run's
    w columns of the cache.
    Returns (u, s, heads * D)."""
    u, _, s, _ = k.shape
    col = cache.prompt_keys.shape[-2] - s
    cache.prompt_keys[layer, prompts, :, :col] = 0.0
    cache.prompt_values[layer, prompts, :, :col] = 0.0
    cache.prompt_keys[layer, prompts, :, col:] = k
    cache.prompt_values[layer, prompts, :, col:] = v
    if reused is not None:  # some prompt of the run starts from a cached prefix
        for slot, hit in zip(range(prompts.start, prompts.stop), reused):
            if hit is not None:
                start, keys, values = hit
                cache.prompt_keys[layer, slot, :, start : start + keys.shape[-2]] = keys[layer]
                cache.prompt_values[layer, slot, :, start : start + keys.shape[-2]] = values[layer]
        k, v = (t[layer, prompts, :, -mask.shape[-1]:] for t in (cache.prompt_keys, cache.prompt_values))
    o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale, enable_gqa=q.shape[1] != k.shape[1])
    return o.transpose(1, 2).reshape(u, s, -1)


def _decode_attend(cache: LeanCache, live: LiveRows, step: int, mask, layer: int, q, k, v, scale: float):
    """One new token per row (q: (n, heads, 1, D); k, v: (n, kv_heads, 1, D)), cached at generated column
    `step`; it attends to its prompt's W columns and its own step + 1 through mask (n, 1, 1, W + step + 1),
    0 or -inf. Batched matmuls rather than SDPA: SDPA cannot share a prompt's keys among its samples, and
    its CPU kernel, built for many queries, measured 1.2-1.5x slower here with one. Returns (n, 1, heads * D)."""
    n, kv_heads = k.shape[:2]
    cache.keys[layer, :n, :, step] = k[:, :, 0]
    cache.values[layer, :n, :, step] = v[:, :, 0]
    q = q.reshape(n, kv_heads, -1, q.shape[-1])  # (n, kv_heads, heads per kv head, D): GQA without copying keys
    u, width = live.groups.shape[0], cache.prompt_keys.shape[-2]
    if cache.whole is not None and live.in_order:  # slot i holds prompt i: prompt and own columns are adjacent
        keys, values = (t[layer, :n, :, : width + step + 1] for t in cache.whole)  # (n, kv, W + step + 1, D)
        return (_attention_weights(q @ keys.transpose(-1, -2), scale, mask) @ values).reshape(n, 1, -1)
    scores = torch.cat([_by_prompt(live, q, lambda qs: qs @ cache.prompt_keys[layer, :u].transpose(-1, -2)),
                        q @ cache.keys[layer, :n, :, : step + 1].transpose(-1, -2)], dim=-1)  # (n, kv, g, W + step + 1)
    weights = _attention_weights(scores, scale, mask)
    out = _by_prompt(live, weights[..., :width], lambda ws: ws @ cache.prompt_values[layer, :u])  # (n, kv, g, D)
    out += weights[..., width:] @ cache.values[layer, :n, :, : step + 1]
    return out.reshape(n, 1, -1)


def _attention_weights(scores: torch.Tensor, scale: float, mask: torch.Tensor) -> torch.Tensor:
    """softmax(scores * scale + mask) over the last axis, computed in float32 like HF's attention."""
    return scores.mul_(scale).add_(mask).softmax(-1, dtype=torch.float32).to(scores.dtype)


def _rotary(model, x, positions) -> tuple[torch.Tensor, torch.Tensor]:
    """(cos, sin), each (n, 1, T, D), for positions (n, T), from the model's own rotary module; sin's first
    half negated, so that rotating is x * cos + roll(x, D / 2) * sin. HF's rotate_half(x) * sin is
    cat(-x2, x1) * sin, the same numbers in fewer operations.

    >>> from transformers.models.llama.modeling_llama import apply_rotary_pos_emb
    >>> x, cos, sin = torch.randn(1, 3, 2, 4), torch.rand(1, 2, 4), torch.rand(1, 2, 4)  # (n, heads, T, D)
    >>> sin_signed = (sin * torch.tensor([-1.0, -1.0, 1.0, 1.0]))[:, None]
    >>> torch.equal(apply_rotary_pos_emb(x, x, cos, sin)[0], x * cos[:, None] + x.roll(2, -1) * sin_signed)
    True
    """
    cos, sin = model.model.rotary_emb(x, positions)  # (n, T, D) each
    sign = torch.ones(sin.shape[-1], dtype=sin.dtype, device=sin.device)
    sign[: sin.shape[-1] // 2] = -1.0
    return cos[:, None], (sin * sign)[:, None]


def _block(layer, index: int, x, cos, sin, attend) -> torch.Tensor:
    """Decoder block `index` (the HF module `layer`) on x (n, T, d); attend(index, q, k, v, scale) is the
    attention over the cache."""
    attn, (n, t, _) = layer.self_attn, x.shape
    h = layer.input_layernorm(x)
    shape, half = (n, t, -1, attn.head_dim), attn.head_dim // 2
    q = attn.q_proj(h).view(shape).transpose(1, 2)  # (n, heads, T, D)
    k = attn.k_proj(h).view(shape).transpose(1, 2)  # (n, kv_heads, T, D)
    v = attn.v_proj(h).view(shape).transpose(1, 2)
    q, k = q * cos + q.roll(half, -1) * sin, k * cos + k.roll(half, -1) * sin  # RoPE (_rotary)
    x = x + attn.o_proj(attend(index, q, k, v, attn.scaling))
    return x + layer.mlp(layer.post_attention_layernorm(x))


def _lean_forward(model, ids, positions, attend) -> torch.Tensor:
    """Logits (n, V) after the last of ids (n, T), whose tokens sit at positions (n, T); attend is
    _prefill_attend or _decode_attend with its cache and mask bound."""
    trunk = model.model
    x = trunk.embed_tokens(ids)  # (n, T, d)
    cos, sin = _rotary(model, x, positions)
    for index, layer in enumerate(trunk.layers):
        x = _block(layer, index, x, cos, sin, attend)
    return model.lm_head(trunk.norm(x[:, -1]))


def _prefill_mask(pad: torch.Tensor, width: int, queries: int | None = None) -> torch.Tensor:
    """(U, 1, Q, W) bool for Q queries in the last Q of W columns (default Q = W): causal over real tokens; a
    padding position sees itself only, because a query that sees nothing gives NaN, which would reach the
    cache of the layers above.

    >>> _prefill_mask(torch.tensor([1]), 3, queries=2).int().tolist()  # column 0 is padding
    [[[[0, 1, 0], [0, 1, 1]]]]
    """
    queries = width if queries is None else queries
    col = torch.arange(width, device=pad.device)
    query_col = col[width - queries :]
    causal = col[None, :] <= query_col[:, None]  # (Q, W): key <= query
    real = col[None, :] >= pad[:, None]  # (U, W): the key is a real token
    return (causal & (real[:, None, :] | (col[None, :] == query_col[:, None])))[:, None]


def _decode_mask(pad: torch.Tensor, cols: int) -> torch.Tensor:
    """(n, 1, 1, cols) additive: 0 on a row's real columns, -inf on the padding before its prompt."""
    real = torch.arange(cols, device=pad.device) >= pad[:, None]
    return torch.zeros(real.shape, device=pad.device).masked_fill_(~real, float("-inf"))[:, None, None]


def _newly_stopped(tokenizer, tokens, rows, out_ids, step: int, d: Decoding, reason: list[str]) -> torch.Tensor:
    """(n,) bool: the live rows that stop at `step` (an eos, or a stop string in their tail); records why."""
    eos = torch.isin(tokens, d.eos)
    done = eos.clone()
    for s in torch.nonzero(eos).flatten().tolist():
        reason[int(rows[s])] = "eos"
    if d.stop:  # decode only the rows whose newest token can complete a stop string
        for s in torch.nonzero(~eos & d.triggers[tokens]).flatten().tolist():
            r = int(rows[s])
            tail = out_ids[r, max(0, step + 1 - d.stop_window) : step + 1].tolist()
            if find_stop(tokenizer.decode(tail), d.stop) >= 0:
                reason[r], done[s] = "stop", True
    return done


def _lean_prefill(model, cache: LeanCache, distinct: list[list[int]], d: Decoding,
                  reused: list[tuple[torch.Tensor, torch.Tensor] | None]) -> torch.Tensor:
    """Logits (U, V) for the first new token of each distinct prompt (lengths ascending), prefilled once, in
    runs of similar length (_prefill_chunks), into the prompt columns of the cache. reused[u]: keys and values
    of prompt u's first tokens from the prefix cache (or None); only the tokens after them are computed."""
    device, logits, width = model.lm_head.weight.device, [], cache.prompt_keys.shape[-2]
    for lo, hi in _prefill_chunks([len(p) for p in distinct]):
        skip = [0 if r is None else r[0].shape[-2] for r in reused[lo:hi]]  # tokens served by the cache
        ids, _, pos = (t.to(device) for t in left_pad([p[n:] for p, n in zip(distinct[lo:hi], skip)], d.pad_id))
        pos = pos + torch.tensor(skip, device=device)[:, None]  # a tail's positions continue its prefix
        w = max(len(p) for p in distinct[lo:hi])  # the run's columns: the longest prompt, cached part included
        pad = torch.tensor([w - len(p) for p in distinct[lo:hi]], device=device)
        hits = None  # (start column, keys, values) per prompt of the run, when the cache serves any of them
        if any(r is not None for r in reused[lo:hi]):
            hits = [None if r is None else (width - len(p), *r) for p, r in zip(distinct[lo:hi], reused[lo:hi])]
        attend = partial(_prefill_attend, cache, _prefill_mask(pad, w, ids.shape[1]), slice(lo, hi), hits)
        logits.append(_lean_forward(model, ids, pos, attend))
    return torch.cat(logits)


def _kept_row(cache: LeanCache, live: LiveRows, slot: int, step: int, tokens: list[int]) -> CachedRow:
    """The keys and values of live slot `slot` after `step` generated columns: its prompt's real columns, then
    its own, for the prefix cache; tokens are the prompt and the generated tokens they belong to."""
    p, pad = int(live.prompt[slot]), int(live.pad[slot])
    keys = torch.cat([cache.prompt_keys[:, p, :, pad:], cache.keys[:, slot, :, :step]], dim=-2)
    values = torch.cat([cache.prompt_values[:, p, :, pad:], cache.values[:, slot, :, :step]], dim=-2)
    return CachedRow(tokens, keys, values)


def lean_batch(model, tokenizer, rows, d: Decoding, uniforms, prefixes=None, keep=None):
    """The lean engine on one batch of prompt token lists (equal prompts adjacent, lengths ascending);
    returns [(ids, logprobs, reason)] like _reference_batch. The prefix cache's two ends (sampling.prefix):
    prefixes[r], keys and values of row r's first prompt tokens to reuse (or None); keep(r, CachedRow), called
    for every row that stops at a stop string, with what it computed (keep.has_room(nbytes) is asked first)."""
    device, n = model.lm_head.weight.device, len(rows)
    index: dict[tuple[int, ...], int] = {}
    prompt = torch.tensor([index.setdefault(tuple(r), len(index)) for r in rows], device=device)  # row -> prompt
    distinct = [list(p) for p in index]
    reused = [None] * len(distinct)  # each distinct prompt's prefix from the cache: its first row's
    if prefixes is not None:
        for r, u in reversed(list(enumerate(prompt.tolist()))):
            reused[u] = prefixes[r]
    length = torch.tensor([len(p) for p in distinct], device=device)
    width = int(length.max())  # W prompt columns: each prompt right-aligned, after width - length of padding
    cache = LeanCache.empty(model, len(distinct), width, n, d.max_new_tokens)
    logits = _lean_prefill(model, cache, distinct, d, reused)[prompt]  # (n, V)
    live = LiveRows.of(torch.arange(n, device=device), prompt, length[prompt], (width - length)[prompt])
    out_ids = torch.zeros((n, d.max_new_tokens), dtype=torch.long, device=device)
    out_logps = torch.zeros((n, d.max_new_tokens), dtype=torch.float32, device=device)
    reason, n_kept = [""] * n, [d.max_new_tokens] * n
    for step in range(d.max_new_tokens):
        logits.index_fill_(-1, d.never, float("-inf"))  # (n_live, V), pad/bos impossible
        u = None if uniforms is None else uniforms[live.row, step]  # each row's own stream
        tokens, logps = pick_next(logits, d.temperature, d.top_p, u)
        out_ids[live.row, step], out_logps[live.row, step] = tokens, logps
        done = _newly_stopped(tokenizer, tokens, live.row, out_ids, step, d, reason)
        for s in torch.nonzero(done).flatten().tolist():
            r = int(live.row[s])
            n_kept[r] = step + 1
            if keep is not None and reason[r] == "stop":
                row_bytes = 2 * cache.keys[:, 0, :, 0].nbytes * (len(rows[r]) + step)
                if keep.has_room(row_bytes):
                    keep(r, _kept_row(cache, live, s, step, list(rows[r]) + out_ids[r, :step].tolist()))
        if done.all() or step == d.max_new_tokens - 1:
            break
        if done.any():  # finished rows leave the batch: compute shrinks as rows stop
            live, order = live.drop(done, cache, step)
            tokens = tokens[order]
        attend = partial(_decode_attend, cache, live, step, _decode_mask(live.pad, width + step + 1))
        logits = _lean_forward(model, tokens[:, None], (live.length + step)[:, None], attend)
    return [(out_ids[r, : n_kept[r]].tolist(), out_logps[r, : n_kept[r]].cpu(), reason[r] or "length")
            for r in range(n)]
