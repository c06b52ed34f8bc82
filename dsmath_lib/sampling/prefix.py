"""Keys and values kept from one generate call for the next one that continues its rows: the tool loop.

    from dsmath_lib.sampling import PrefixCache, generate
    cache = PrefixCache()
    first = generate(model, tokenizer, prompts, max_new_tokens=160, stop=["<|/code|>"], prefix_cache=cache)
    # ... run the code, then continue each row after its stop string:
    again = generate(model, tokenizer, [p + c.text + "<|/code|>" + output for p, c, output in ...],
                     max_new_tokens=160, stop=["<|/code|>"], prefix_cache=cache)

Tool-integrated prompting (eval.prompting) generates until a code block closes, runs the block, appends its
output to the text and generates again. Without a cache every round prefills the whole context again:
prompt, every earlier round and every earlier output. With one, a row that stopped at a stop string leaves
its keys and values here (prompt and generated tokens, every layer), filed under its prompt text plus its
completion text; a later prompt that begins with that text followed by a stop string takes them, and only
the tokens after the longest common token prefix are prefilled. The contract stays text in, text out: the
later prompt is tokenized as before, and the cache serves exactly the tokens that the fresh encoding and the
cached row share, so the model sees the same tokens at the same positions as without it; only float
rounding can differ (keys computed one token at a time rather than in one prefill).

Each call takes what it can use and then clears the rest, so the cache holds one round: rows that stopped
at eos or at the length limit, or went unclaimed, are not kept. `max_bytes` bounds what a round keeps;
rows past it are simply not cached (the next call prefills them). The lean engine uses the cache; the
reference engine ignores it, which is how the tests check it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch


@dataclass
class CachedRow:
    """One row's tokens and their keys and values, (layers, kv_heads, len(tokens), head_dim) each."""

    tokens: list[int]
    keys: torch.Tensor
    values: torch.Tensor

    @property
    def nbytes(self) -> int:
        return self.keys.nbytes + self.values.nbytes


class PrefixCache:
    """Rows that stopped at a stop string, by text, for the call that continues them (see the module doc)."""

    def __init__(self, max_bytes: int = 4 * 2**30):
        self.max_bytes = max_bytes
        self.rows: dict[str, CachedRow] = {}  # filed under prompt text + completion text
        self.held: dict[object, CachedRow] = {}  # the running call's rows, by output row
        self.nbytes = 0
        self.hits = 0  # rows served, and tokens not prefilled thanks to them (for benches and tests)
        self.reused_tokens = 0

    def has_room(self, nbytes: int) -> bool:
        return self.nbytes + nbytes <= self.max_bytes

    def hold(self, job, row: CachedRow) -> None:
        """Keep `row` for output row `job` of the running call until its text is known (file)."""
        if self.has_room(row.nbytes):
            self.held[job] = row
            self.nbytes += row.nbytes

    def file(self, job, text: str) -> None:
        """File the row held for `job` under `text`, its prompt text + completion text (once per text)."""
        row = self.held.pop(job, None)
        if row is not None and text not in self.rows:
            self.rows[text] = row
        elif row is not None:
            self.nbytes -= row.nbytes

    def keeper(self, jobs: Sequence) -> Keeper:
        """What one batch of the lean engine calls for its rows that stop at a stop string (jobs[r]: row r's)."""
        return Keeper(self, list(jobs))

    def take(self, prompt: str, ids: Sequence[int], stop: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(keys, values) of the longest cached token prefix of `ids` (the encoding of `prompt`), or None.

        Candidates are the prompt cut where a stop string begins: a row continued after its stop string. At
        most len(ids) - 1 tokens are served, so the call still computes the logits after the last one."""
        for s in stop:
            pos = prompt.rfind(s) if s else -1
            while pos >= 0:
                row = self.rows.pop(prompt[:pos], None)
                if row is not None:
                    n = common_prefix(row.tokens, ids, limit=len(ids) - 1)
                    if n == 0:
                        return None
                    self.hits += 1
                    self.reused_tokens += n
                    return row.keys[..., :n, :], row.values[..., :n, :]
                pos = prompt.rfind(s, 0, pos)
        return None

    def clear(self) -> None:
        self.rows.clear()
        self.held.clear()
        self.nbytes = 0


@dataclass
class Keeper:
    """A PrefixCache seen from one batch of the lean engine: rows numbered within the batch."""

    cache: PrefixCache
    jobs: list

    def has_room(self, nbytes: int) -> bool:
        return self.cache.has_room(nbytes)

    def __call__(self, r: int, row: CachedRow) -> None:
        self.cache.hold(self.jobs[r], row)


def common_prefix(a: Sequence[int], b: Sequence[int], limit: int | None = None) -> int:
    """How many leading tokens a and b share, at most `limit`.

    >>> common_prefix([1, 2, 3, 4], [1, 2, 5]), common_prefix([1, 2], [1, 2, 3], limit=1)
    (2, 1)
    """
    n, top = 0, min(len(a), len(b), len(b) if limit is None else limit)
    while n < top and a[n] == b[n]:
        n += 1
    return n
