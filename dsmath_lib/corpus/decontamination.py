"""Benchmark decontamination by n-gram matching (paper §2.1, docs/PAPER.md "Decontamination").

    from dsmath_lib.corpus.decontamination import BenchmarkIndex, decontaminate
    index = BenchmarkIndex.build(question_and_answer_texts)      # once per benchmark set
    clean_pages, report = decontaminate(pages, index)
    report  # DecontaminationReport(pages=..., pages_touched=..., pages_removed=..., segments_removed=...)

The rule: a text segment is removed when it contains a 10-gram that also occurs in a benchmark question or
answer; a benchmark text of 3 to 9 words is matched as a whole (its full word sequence must occur in the
segment); benchmark texts under 3 words are ignored, as in the paper.

Our choices where the paper is silent:
- Tokenisation: lowercase, then words are runs of letters and digits (`[a-z0-9]+` after Unicode
  lowercasing, so LaTeX commands lose their backslash and braces: `\\frac{1}{2}` -> frac 1 2).
  Punctuation and whitespace never count.
- Segments are lines (a WET page's text has one HTML block per line, so a line is a paragraph). The
  n-grams run over the page's whole word stream, so a benchmark question broken over several lines is
  still found; every line that a matching n-gram touches is removed. A page whose lines are all removed
  is dropped.
- The index is a set of 64-bit xxhash values of the benchmark's 10-grams (and of its short texts), built
  once; a page costs one hash and one set lookup per word per n-gram length in use, so the pass is
  linear in corpus size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import xxhash
from tqdm.auto import tqdm

from dsmath_lib.webdata import WebPage

_TOKEN = re.compile(r"[^\W_]+")
NGRAM = 10  # the paper's n
MIN_SHORT = 3  # benchmark texts of MIN_SHORT..NGRAM-1 words are matched whole


def words(text: str) -> list[str]:
    """Lowercased word tokens, punctuation dropped.

    >>> words("What is $\\\\frac{1}{2}$ of 10?")
    ['what', 'is', 'frac', '1', '2', 'of', '10']
    """
    return _TOKEN.findall(text.lower())


def _hash(tokens: Sequence[str]) -> int:
    return xxhash.xxh3_64_intdigest(" ".join(tokens).encode("utf-8"))


@dataclass
class BenchmarkIndex:
    """Hashed benchmark n-grams: 10-grams, and whole short texts keyed by their length."""

    ngrams: set[int] = field(default_factory=set)
    short: dict[int, set[int]] = field(default_factory=dict)  # length (3..9) -> hashes of whole texts
    n: int = NGRAM

    @classmethod
    def build(cls, texts: Iterable[str], n: int = NGRAM, min_short: int = MIN_SHORT) -> "BenchmarkIndex":
        index = cls(n=n)
        for text in texts:
            toks = words(text)
            if len(toks) >= n:
                index.ngrams.update(_hash(toks[i:i + n]) for i in range(len(toks) - n + 1))
            elif len(toks) >= min_short:
                index.short.setdefault(len(toks), set()).add(_hash(toks))
        return index

    def spans(self, toks: Sequence[str]) -> list[tuple[int, int]]:
        """Token spans [start, end) of `toks` that match the benchmark.

        >>> BenchmarkIndex.build(["one two three"]).spans("zero one two three four".split())
        [(1, 4)]
        """
        hits = []
        lengths = [(self.n, self.ngrams)] + sorted(self.short.items())
        for length, table in lengths:
            if not table:
                continue
            for i in range(len(toks) - length + 1):
                if _hash(toks[i:i + length]) in table:
                    hits.append((i, i + length))
        return hits


@dataclass(frozen=True)
class DecontaminationReport:
    pages: int
    pages_touched: int  # pages that lost at least one segment
    pages_removed: int  # pages that lost every segment
    segments_removed: int
    removed_urls: tuple[str, ...] = ()  # touched pages, for inspection


def clean_text(text: str, index: BenchmarkIndex) -> tuple[str, int]:
    """The text without its contaminated lines, and how many lines went.

    >>> idx = BenchmarkIndex.build(["Tom has 3 apples and buys 4 more; how many apples does he have now?"])
    >>> clean_text("Intro line.\\ntom has 3 apples and buys 4 more. How many apples does he have?\\nBye.", idx)
    ('Intro line.\\nBye.', 1)
    """
    lines = text.split("\n")
    toks, owner = [], []  # owner[i]: the line token i comes from
    for li, line in enumerate(lines):
        line_toks = words(line)
        toks += line_toks
        owner += [li] * len(line_toks)
    bad = {owner[k] for start, end in index.spans(toks) for k in range(start, end)}
    if not bad:
        return text, 0
    return "\n".join(line for li, line in enumerate(lines) if li not in bad), len(bad)


def decontaminate(pages: Sequence[WebPage], index: BenchmarkIndex) -> tuple[list[WebPage], DecontaminationReport]:
    """Remove contaminated segments from every page; pages left with no text are dropped."""
    kept, touched, removed, segments = [], [], 0, 0
    for page in tqdm(pages, desc="decontaminate", unit="page", mininterval=2, leave=False):
        text, n_bad = clean_text(page.text, index)
        if n_bad:
            touched.append(page.url)
            segments += n_bad
            if not text.strip():
                removed += 1
                continue
            page = WebPage(page.url, text, dict(page.metadata))
        kept.append(page)
    return kept, DecontaminationReport(len(pages), len(touched), removed, segments, tuple(touched))
