"""What both sampling engines share: the Completion record, the per-call Decoding settings, left padding and
positions, the random stream and the rule that turns logits into a token, and when a row stops."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

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


def eos_ids(model, tokenizer) -> set[int]:
    ids = {tokenizer.eos_token_id}
    gen_eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids.update(gen_eos if isinstance(gen_eos, list) else [gen_eos])
    return {i for i in ids if i is not None}


def never_sampled(tokenizer, eos_ids: set[int]) -> list[int]:
    """Token ids the sampler must never emit: padding and <|bos|> are not content (an untrained model would
    otherwise sample <|pad|>, which the RL loss would then train on). An eos that doubles as pad stays allowed."""
    ids = {tokenizer.pad_token_id, tokenizer.bos_token_id} - set(eos_ids) - {None}
    return sorted(ids)
