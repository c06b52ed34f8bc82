"""Batched sampling with a KV cache: greedy, temperature and top-p, stop strings, seeded, with logprobs.

    from dsmath_lib.sampling import generate
    outs = generate(model, tokenizer, prompts, max_new_tokens=256, temperature=0.7, num_samples=8,
                    stop=["\\n\\nQuestion:"], seed=0, return_logprobs=True)
    outs[i * 8 + j].text        # sample j of prompt i (groups of num_samples are contiguous)
    generate(..., engine="reference")                # the plain loop over the HF forward, for checking

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
from dataclasses import dataclass, field
from functools import partial

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm
from transformers import DynamicCache

# Rows per batch, measured with bench/bench_sampler.py (tiny-s, 64 prompts x 8 samples, 96 tokens, one
# thread of 2 shared cores): the lean engine made 8.5K, 11.7K, 14.0K, 14.6K and 13.9K tokens/s at 32, 64,
# 128, 256 and 512 rows; past 256 the cache outgrows what the memory system serves well.
DEFAULT_BATCH_SIZE = 256
# One block layout; Qwen2's q/k/v biases live inside the nn.Linear modules the lean engine calls.
LEAN_ARCHITECTURES = ("LlamaForCausalLM", "Qwen2ForCausalLM")


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


@dataclass(frozen=True)
class Decoding:
    """What every batch of one generate call shares (tensors on the model's device)."""

    max_new_tokens: int
    temperature: float
    top_p: float
    stop: tuple[str, ...]
    eos: torch.Tensor  # (n_eos,) token ids that end a row
    never: torch.Tensor  # (n_never,) token ids never sampled (never_sampled)
    pad_id: int
    triggers: torch.Tensor | None = None  # (V,) bool, stop_triggers; the lean engine only
    layers: tuple = ()  # (LeanLayer, ...) the blocks' stacked weights; the lean engine only

    @property
    def stop_window(self) -> int:
        return max((len(s.encode()) for s in self.stop), default=0) + 4  # tokens that can hold a stop string


def position_ids(attention_mask: torch.Tensor) -> torch.Tensor:
    """Positions that count real tokens only, 0, 1, 2...; padding sits at 0 (and is masked). The sampler, the
    log-probs of RL (rl.rollout) and the scalar heads (rl.prm) all use these, so a left-padded row sees the
    positions it would see alone.

    >>> position_ids(torch.tensor([[0, 0, 1, 1], [1, 1, 1, 0]])).tolist()
    [[0, 0, 0, 1], [0, 1, 2, 2]]
    """
    return (attention_mask.cumsum(-1) - 1).clamp(min=0)


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
    return ids, mask, position_ids(mask)


# ---------------------------------------------------------------------------------------------------------
# Choosing tokens: the random stream and the sampling rule, shared by both engines


def row_seeds(seed: int, n_rows: int) -> list[int]:
    """One seed per output row, drawn in output order from one generator seeded with `seed`.

    >>> row_seeds(0, 2) == row_seeds(0, 5)[:2]  # a row's seed does not depend on the rows after it
    True
    """
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 2**63 - 1, (n_rows,), generator=generator).tolist()


def row_uniforms(seeds: Sequence[int], n_steps: int) -> torch.Tensor:
    """(len(seeds), n_steps) uniforms in [0, 1): row r is the first n_steps draws of its own generator.

    >>> u = row_uniforms([7, 8], 4)
    >>> u.shape, torch.equal(u[:, :2], row_uniforms([7, 8], 2))
    (torch.Size([2, 4]), True)
    """
    return torch.stack([torch.rand(n_steps, generator=torch.Generator().manual_seed(s)) for s in seeds])


def draw(probs: torch.Tensor, uniforms: torch.Tensor) -> torch.Tensor:
    """Inverse-CDF sampling: per row of probs (B, V), the token whose slice of the cumulative distribution
    (tokens in vocabulary order, each slice as wide as its probability) holds uniforms (B,) x the total.

    >>> probs = torch.tensor([[0.5, 0.0, 0.5], [0.5, 0.0, 0.5]])
    >>> draw(probs, torch.tensor([0.25, 0.5])).tolist()  # the empty slice of token 1 is never hit
    [0, 2]
    """
    cdf = probs.cumsum(-1)  # (B, V) non-decreasing: a zero-probability token owns an empty slice
    total = cdf[:, -1:]
    # kept strictly below the total, so rounding never lands past the last token that has probability
    target = torch.minimum(uniforms[:, None].to(cdf) * total, total.nextafter(torch.zeros_like(total)))
    return torch.searchsorted(cdf, target, right=True).squeeze(-1)


def pick_next(
    logits: torch.Tensor, temperature: float, top_p: float, uniforms: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Choose one token per row from logits (B, V); return (tokens (B,), their logprobs (B,)).

    temperature 0 is greedy (argmax, uniforms unused); otherwise the token that `uniforms` (B,) draws
    from softmax(logits / T) restricted to the smallest set of tokens whose probability reaches top_p
    (nucleus sampling).

    >>> pick_next(torch.tensor([[0.0, 3.0, 1.0]]), 0.0, 1.0)[0].tolist()
    [1]
    >>> pick_next(torch.tensor([[0.0, 3.0, 1.0]]), 1.0, 1.0, torch.tensor([0.99]))[0].tolist()
    [2]
    """
    logits = logits.float()
    scaled = logits / temperature if temperature > 0 and temperature != 1 else logits
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
        tokens = draw(probs, uniforms)
    return tokens, logp.gather(-1, tokens[:, None]).squeeze(-1)


# ---------------------------------------------------------------------------------------------------------
# When a row stops


def find_stop(text: str, stop: Sequence[str]) -> int:
    """Index of the earliest stop string in text, or -1.

    >>> find_stop("x = 2\\nQ: next", ["\\nQ:", "zz"])
    5
    """
    hits = [i for i in (text.find(s) for s in stop if s) if i >= 0]
    return min(hits) if hits else -1


def stop_triggers(tokenizer, stop: Sequence[str], vocab_size: int) -> torch.Tensor:
    """(vocab_size,) bool: the tokens after which a row's text may newly contain a stop string.

    A row still running had no stop string in its tail window a step ago, so a new match must end in
    the newest token's text: only a token whose text holds the last character of some stop string can
    complete one, if its text does not depend on its neighbours. Tokens whose text may depend on them
    count as triggers too: partial UTF-8 bytes (alone they decode to U+FFFD), text that changes beside
    itself (a decoder that strips a leading space, tokenization-space clean-up), and ids the tokenizer
    does not know. With a byte-level BPE (ours, Llama-3, Qwen, DeepSeek) deciding only after triggers
    gives exactly the stops that decoding every row every step gives.
    """
    ends = {s[-1] for s in stop if s}
    n = min(len(tokenizer), vocab_size)
    alone = tokenizer.batch_decode([[i] for i in range(n)])
    twice = tokenizer.batch_decode([[i, i] for i in range(n)])
    out = torch.ones(vocab_size, dtype=torch.bool)
    out[:n] = torch.tensor([any(c in a for c in ends) or "\ufffd" in a or b != a + a for a, b in zip(alone, twice)])
    return out


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


# ---------------------------------------------------------------------------------------------------------
# The reference engine: the HF forward, every row every step


def _reference_batch(model, tokenizer, rows, d: Decoding, uniforms):
    """Sample continuations for one batch of prompt token lists; returns [(ids, logprobs, reason)].

    uniforms (B, max_new_tokens) is the rows' random stream (None when greedy)."""
    ids, mask, pos = left_pad(rows, d.pad_id)
    n = len(rows)
    cache = DynamicCache(config=model.config)
    out = model(input_ids=ids, attention_mask=mask, position_ids=pos, past_key_values=cache, use_cache=True,
                logits_to_keep=1)
    next_pos = pos[:, -1] + 1  # (B,) position of the token about to be generated
    new_tokens, new_logps = [], []  # one (B,) tensor per step
    reason = [""] * n  # "" while a row is live
    n_live = [0] * n  # tokens each row generated before it finished
    for step in range(d.max_new_tokens):
        logits = out.logits[:, -1, :].index_fill(-1, d.never, float("-inf"))  # (B, V), pad/bos impossible
        tokens, logps = pick_next(logits, d.temperature, d.top_p, None if uniforms is None else uniforms[:, step])
        done = torch.tensor([r != "" for r in reason])
        tokens = tokens.masked_fill(done, d.pad_id)  # finished rows stop growing: padding, dropped at the end
        new_tokens.append(tokens)
        new_logps.append(logps)
        live = [i for i in range(n) if not reason[i]]
        for i in live:
            n_live[i] += 1
        for i in torch.nonzero(~done & torch.isin(tokens, d.eos)).flatten().tolist():
            reason[i] = "eos"
        if d.stop:
            tail = torch.stack(new_tokens[-d.stop_window :], dim=1)  # (B, <=window): only new text can match
            for i in live:
                if not reason[i] and find_stop(tokenizer.decode(tail[i].tolist()), d.stop) >= 0:
                    reason[i] = "stop"
        if all(reason) or step == d.max_new_tokens - 1:
            break
        mask = torch.cat([mask, torch.ones((n, 1), dtype=mask.dtype)], dim=1)
        out = model(input_ids=tokens[:, None], attention_mask=mask, position_ids=next_pos[:, None],
                    past_key_values=cache, use_cache=True)
        next_pos = next_pos + 1
    tokens, logps = torch.stack(new_tokens, 1), torch.stack(new_logps, 1)  # (B, T)
    return [
        (tokens[i, : n_live[i]].tolist(), logps[i, : n_live[i]], reason[i] or "length") for i in range(n)
    ]


# ---------------------------------------------------------------------------------------------------------
# The lean engine: the model's modules over a preallocated cache, live rows only


def lean_supported(model) -> bool:
    """Whether the lean engine can run `model`: a Llama or Qwen2 causal LM with full attention in every
    layer, plain nn.Linear projections (an adapter such as LoRA wraps them: the lean engine multiplies the
    weights itself, LeanLayer) and no forward hooks on any module it does not call (it calls only the
    embeddings, the rotary embedding and lm_head as modules)."""
    if type(model).__name__ not in LEAN_ARCHITECTURES:
        return False
    trunk = model.model
    called = {trunk.embed_tokens, trunk.rotary_emb, model.lm_head}
    hooked = any(m._forward_hooks or m._forward_pre_hooks for m in model.modules() if m not in called)
    windowed = any(getattr(layer.self_attn, "sliding_window", None) for layer in trunk.layers)
    plain = all(type(getattr(part, name)) is torch.nn.Linear for layer in trunk.layers
                for part, names in ((layer.self_attn, ("q_proj", "k_proj", "v_proj", "o_proj")),
                                    (layer.mlp, ("gate_proj", "up_proj", "down_proj"))) for name in names)
    return plain and not hooked and not windowed


def _stacked(linears) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(weight, bias) of one nn.Linear computing all of `linears` side by side (outputs concatenated).

    >>> a, b = torch.nn.Linear(2, 3), torch.nn.Linear(2, 1)
    >>> w, bias = _stacked([a, b]); x = torch.randn(4, 2)
    >>> torch.allclose(F.linear(x, w, bias), torch.cat([a(x), b(x)], -1))
    True
    """
    if len(linears) == 1:
        return linears[0].weight.detach(), None if linears[0].bias is None else linears[0].bias.detach()
    weight = torch.cat([m.weight.detach() for m in linears])  # a copy; sampling takes no gradients
    if all(m.bias is None for m in linears):
        return weight, None
    return weight, torch.cat([m.bias.detach() if m.bias is not None else m.weight.new_zeros(m.out_features)
                              for m in linears])


@dataclass(frozen=True)
class LeanLayer:
    """One decoder block's weights as the lean engine multiplies them: q, k and v stacked into one matrix
    (with their biases, Qwen2), gate and up into another, so a block takes 4 matmuls instead of 7 and its
    rotary embedding rotates q and k in one pass. The stacks are copies, made once per generate call
    (about 3/4 of the model's weights), because at this study's sizes every step is dominated by the
    number of operations, not their size."""

    input_norm: torch.nn.Module
    qkv: tuple[torch.Tensor, torch.Tensor | None]  # ((heads + 2 kv_heads) * D, d) and its bias
    o: tuple[torch.Tensor, torch.Tensor | None]
    post_norm: torch.nn.Module
    gate_up: tuple[torch.Tensor, torch.Tensor | None]  # (2 * intermediate, d)
    down: tuple[torch.Tensor, torch.Tensor | None]
    act: torch.nn.Module
    heads: int
    kv_heads: int
    head_dim: int
    scaling: float

    @staticmethod
    def of(layer) -> LeanLayer:
        attn, mlp = layer.self_attn, layer.mlp
        head_dim = attn.head_dim
        return LeanLayer(layer.input_layernorm, _stacked([attn.q_proj, attn.k_proj, attn.v_proj]),
                         _stacked([attn.o_proj]), layer.post_attention_layernorm,
                         _stacked([mlp.gate_proj, mlp.up_proj]), _stacked([mlp.down_proj]),
                         mlp.act_fn, attn.q_proj.out_features // head_dim, attn.k_proj.out_features // head_dim,
                         head_dim, attn.scaling)


def _norm(norm: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The model's RMSNorm on x: in float32 by F.rms_norm, one kernel that gives HF's numbers bit for bit
    (test_sampling); in half precision by the module itself, which rounds where HF rounds."""
    if x.dtype != torch.float32:
        return norm(x)
    return F.rms_norm(x, norm.weight.shape, norm.weight, norm.variance_epsilon)


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
    (u, width), (n, kv, g) = live.groups.shape, x.shape[:3]
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


def _prefill_attend(cache: LeanCache, mask, prompts: slice, layer: int, q, k, v, scale: float) -> torch.Tensor:
    """Attention within a run of prompts (q, k, v: (u, heads, w, D); mask (u, 1, w, w) bool), by SDPA. k and
    v fill the last w prompt columns of cache slots `prompts`; the columns before them are zeroed, padding
    that the mask hides (0 x a zero weight, where leftover memory could hold NaN). Returns (u, w, heads * D)."""
    u, _, w, _ = k.shape
    col = cache.prompt_keys.shape[-2] - w
    cache.prompt_keys[layer, prompts, :, :col] = 0.0
    cache.prompt_values[layer, prompts, :, :col] = 0.0
    cache.prompt_keys[layer, prompts, :, col:] = k
    cache.prompt_values[layer, prompts, :, col:] = v
    o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale, enable_gqa=q.shape[1] != k.shape[1])
    return o.transpose(1, 2).reshape(u, w, -1)


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


def _block(layer: LeanLayer, index: int, x, cos, sin, attend) -> torch.Tensor:
    """Decoder block `index` on x (n, T, d); attend(index, q, k, v, scale) is the attention over the cache."""
    n, t, _ = x.shape
    h = _norm(layer.input_norm, x)
    qkv = F.linear(h, *layer.qkv).view(n, t, -1, layer.head_dim).transpose(1, 2)  # (n, heads + 2 kv, T, D)
    qk, v = qkv[:, : layer.heads + layer.kv_heads], qkv[:, layer.heads + layer.kv_heads :]
    qk = qk * cos + qk.roll(layer.head_dim // 2, -1) * sin  # RoPE on q and k at once (_rotary)
    x = x + F.linear(attend(index, qk[:, : layer.heads], qk[:, layer.heads :], v, layer.scaling), *layer.o)
    gate, up = F.linear(_norm(layer.post_norm, x), *layer.gate_up).chunk(2, -1)
    return x + F.linear(layer.act(gate) * up, *layer.down)


def _lean_forward(model, layers: Sequence[LeanLayer], ids, positions, attend) -> torch.Tensor:
    """Logits (n, V) after the last of ids (n, T), whose tokens sit at positions (n, T); attend is
    _prefill_attend or _decode_attend with its cache and mask bound."""
    trunk = model.model
    x = trunk.embed_tokens(ids)  # (n, T, d)
    cos, sin = _rotary(model, x, positions)
    for index, layer in enumerate(layers):
        x = _block(layer, index, x, cos, sin, attend)
    return model.lm_head(_norm(trunk.norm, x[:, -1]))


def _prefill_mask(pad: torch.Tensor, width: int) -> torch.Tensor:
    """(U, 1, W, W) bool: causal over real tokens; a padding position sees itself only, because a query
    that sees nothing gives NaN, which would reach the cache of the layers above."""
    col = torch.arange(width, device=pad.device)
    causal = col[None, :] <= col[:, None]  # (W, W): key <= query
    real = col[None, :] >= pad[:, None]  # (U, W): the key is a real token
    return (causal & (real[:, None, :] | (col[None, :] == col[:, None])))[:, None]


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


def _lean_prefill(model, cache: LeanCache, distinct: list[list[int]], d: Decoding) -> torch.Tensor:
    """Logits (U, V) for the first new token of each distinct prompt (lengths ascending), prefilled once, in
    runs of similar length (_prefill_chunks), into the prompt columns of the cache."""
    device, logits = model.lm_head.weight.device, []
    for lo, hi in _prefill_chunks([len(p) for p in distinct]):
        ids, _, pos = (t.to(device) for t in left_pad(distinct[lo:hi], d.pad_id))  # (u, w)
        attend = partial(_prefill_attend, cache, _prefill_mask(ids.shape[1] - 1 - pos[:, -1], ids.shape[1]),
                         slice(lo, hi))
        logits.append(_lean_forward(model, d.layers, ids, pos, attend))
    return torch.cat(logits)


def _lean_batch(model, tokenizer, rows, d: Decoding, uniforms):
    """The lean engine on one batch of prompt token lists (equal prompts adjacent, lengths ascending);
    returns [(ids, logprobs, reason)] like _reference_batch."""
    device, n = model.lm_head.weight.device, len(rows)
    index: dict[tuple[int, ...], int] = {}
    prompt = torch.tensor([index.setdefault(tuple(r), len(index)) for r in rows], device=device)  # row -> prompt
    distinct = [list(p) for p in index]
    length = torch.tensor([len(p) for p in distinct], device=device)
    width = int(length.max())  # W prompt columns: each prompt right-aligned, after width - length of padding
    cache = LeanCache.empty(model, len(distinct), width, n, d.max_new_tokens)
    logits = _lean_prefill(model, cache, distinct, d)[prompt]  # (n, V)
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
        for r in live.row[done].tolist():
            n_kept[r] = step + 1
        if done.all() or step == d.max_new_tokens - 1:
            break
        if done.any():  # finished rows leave the batch: compute shrinks as rows stop
            live, order = live.drop(done, cache, step)
            tokens = tokens[order]
        attend = partial(_decode_attend, cache, live, step, _decode_mask(live.pad, width + step + 1))
        logits = _lean_forward(model, d.layers, tokens[:, None], (live.length + step)[:, None], attend)
    return [(out_ids[r, : n_kept[r]].tolist(), out_logps[r, : n_kept[r]].cpu(), reason[r] or "length")
            for r in range(n)]


# ---------------------------------------------------------------------------------------------------------
# The entry point


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
    return _lean_batch if lean else _reference_batch


def _decoding(model, tokenizer, batch_fn, *, max_new_tokens, temperature, top_p, stop) -> Decoding:
    """The settings every batch shares, on the device the engine computes on (the reference stays on CPU)."""
    device = model.get_output_embeddings().weight.device if batch_fn is _lean_batch else torch.device("cpu")
    eos_ids = _eos_ids(model, tokenizer)
    triggers, layers = None, ()
    if batch_fn is _lean_batch:
        layers = tuple(LeanLayer.of(layer) for layer in model.model.layers)
        if stop:
            triggers = stop_triggers(tokenizer, stop, model.get_output_embeddings().weight.shape[0]).to(device)
    return Decoding(max_new_tokens, temperature, top_p, stop,
                    eos=torch.tensor(sorted(eos_ids), dtype=torch.long, device=device),
                    never=torch.tensor(never_sampled(tokenizer, eos_ids), dtype=torch.long, device=device),
                    pad_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0, triggers=triggers,
                    layers=layers)


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
) -> list[Completion]:
    """Sample `num_samples` continuations of every prompt; a flat list grouped per prompt.

    Order: result[i * num_samples + j] is sample j of prompts[i] (reshape to (len(prompts),
    num_samples) for GRPO groups or Maj@K votes). Prompts are tokenized with the tokenizer's own
    special tokens (our BPE prepends <|bos|>). A row stops at an eos token, when its text contains
    a stop string, or after max_new_tokens; the batch ends when every row has stopped. <|pad|> and
    <|bos|> are never sampled (see never_sampled). engine: "auto" (lean where supported), "lean" or
    "reference" (see the module docstring); the random stream is the same for all of them.
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
    raw = []  # (prompt i, sample j, token ids, logprobs, finish reason), in sorted order
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for start in tqdm(range(0, len(jobs), batch_size), desc="sampling", disable=not progress):
                batch = jobs[start : start + batch_size]
                uniforms = None if seeds is None else row_uniforms(
                    [seeds[i * num_samples + j] for i, j in batch], max_new_tokens).to(d.eos.device)
                outs = batch_fn(model, tokenizer, [encoded[i] for i, _ in batch], d, uniforms)
                raw.extend((i, j, *out) for (i, j), out in zip(batch, outs))
    finally:
        model.train(was_training)
    results: list[Completion | None] = [None] * len(jobs)
    for i, j, ids, logps, why in raw:
        # cloned outside inference mode, so an RL loss can combine the logprobs with autograd tensors
        keep = logps.clone() if return_logprobs else None
        results[i * num_samples + j] = _to_completion(tokenizer, ids, keep, why, stop, i, j)
    return results
