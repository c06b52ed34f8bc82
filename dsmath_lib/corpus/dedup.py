"""The candidate pool: URL deduplication, then MinHash near-deduplication (paper §2.1: "URL dedup + near-dedup").

    from dsmath_lib.corpus.dedup import dedup_pool
    pool, report = dedup_pool(pages, threshold=0.8)
    report  # DedupReport(input=..., empty=..., url_duplicates=..., near_duplicates=..., kept=...)

URL dedup keeps the first page seen for each URL (fragment and trailing slash ignored). Near-dedup hashes
each page's word 5-gram shingles into a datasketch MinHash (128 permutations) and queries a MinHashLSH
index at Jaccard threshold 0.8: a page whose estimated similarity to an already kept page passes the
threshold is dropped, so the first of a cluster survives. Empty pages are dropped and counted. The paper
does not give its near-dedup settings; 5-grams at 0.8 are the common choice (e.g. Gopher, FineWeb).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from datasketch import MinHash, MinHashLSH
from tqdm.auto import tqdm

from dsmath_lib.webdata import WebPage

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class DedupReport:
    input: int
    empty: int
    url_duplicates: int
    near_duplicates: int
    kept: int


def normalize_url(url: str) -> str:
    """The URL used as a dedup key: no fragment, no trailing slash, lowercase scheme and host.

    >>> normalize_url("HTTPS://Forum.Example/q/1/#top")
    'https://forum.example/q/1'
    """
    url = url.split("#", 1)[0].rstrip("/")
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}".rstrip("/")


def url_dedup(pages: Iterable[WebPage]) -> tuple[list[WebPage], int]:
    """Keep the first page of each URL; returns (kept, number dropped)."""
    seen: set[str] = set()
    kept, dropped = [], 0
    for page in pages:
        key = normalize_url(page.url)
        if key in seen:
            dropped += 1
            continue
        seen.add(key)
        kept.append(page)
    return kept, dropped


def shingles(text: str, n: int = 5) -> set[str]:
    """Word n-gram shingles of lowercased text (a text shorter than n words is one shingle).

    >>> sorted(shingles("A b c d", n=3))
    ['a b c', 'b c d']
    """
    words = _WORD.findall(text.lower())
    if len(words) < n:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)}


def minhash(text: str, num_perm: int = 128, n: int = 5) -> MinHash:
    m = MinHash(num_perm=num_perm, seed=1)
    m.update_batch([s.encode("utf-8") for s in shingles(text, n)])
    return m


def near_dedup(pages: Sequence[WebPage], threshold: float = 0.8, num_perm: int = 128,
               n: int = 5) -> tuple[list[WebPage], int]:
    """Drop pages whose MinHash Jaccard estimate to an earlier kept page is >= threshold."""
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    kept, dropped = [], 0
    for i, page in enumerate(tqdm(pages, desc="near-dedup", unit="page", mininterval=2, leave=False)):
        m = minhash(page.text, num_perm, n)
        if lsh.query(m):
            dropped += 1
            continue
        lsh.insert(str(i), m)
        kept.append(page)
    return kept, dropped


def dedup_pool(pages: Iterable[WebPage], threshold: float = 0.8, num_perm: int = 128,
               n: int = 5) -> tuple[list[WebPage], DedupReport]:
    """Empty-page filter, URL dedup, then near-dedup: the pool the classifier scores."""
    pages = list(pages)
    nonempty = [p for p in pages if p.text.strip()]
    by_url, url_dups = url_dedup(nonempty)
    kept, near_dups = near_dedup(by_url, threshold, num_perm, n)
    return kept, DedupReport(len(pages), len(pages) - len(nonempty), url_dups, near_dups, len(kept))
