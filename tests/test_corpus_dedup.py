"""Pool dedup: URL dedup, MinHash near-dedup at 0.8 on word 5-grams, empty pages counted."""

import random

from dsmath_lib.corpus.dedup import dedup_pool, normalize_url, shingles
from dsmath_lib.webdata import WebPage


def _text(rng, n=120):
    return " ".join(f"w{rng.randrange(5000)}" for _ in range(n))


def test_normalize_url_and_shingles():
    assert normalize_url("https://A.example/x/#frag") == normalize_url("https://a.example/x")
    assert shingles("one two three four five six") == {"one two three four five", "two three four five six"}


def test_dedup_pool_drops_url_exact_and_near_duplicates():
    rng = random.Random(0)
    base = [WebPage(f"https://s.example/{i}", _text(rng)) for i in range(50)]
    near_words = base[0].text.split()
    near_words[60] = "changed"
    extra = [
        WebPage("https://s.example/3/", "a different text at the same URL"),  # URL duplicate
        WebPage("https://m.example/1", base[1].text),  # exact copy, new URL
        WebPage("https://m.example/2", " ".join(near_words)),  # one word changed: Jaccard ~0.96
        WebPage("https://m.example/3", ""),
    ]
    pool, report = dedup_pool(base + extra)
    assert report.url_duplicates == 1 and report.empty == 1 and report.near_duplicates == 2
    assert [p.url for p in pool] == [p.url for p in base] and report.kept == 50


def test_distinct_pages_with_shared_boilerplate_survive():
    rng = random.Random(1)
    boiler = _text(rng, 30)
    pages = [WebPage(f"https://f.example/{i}", boiler + " " + _text(rng, 100)) for i in range(20)]
    pool, report = dedup_pool(pages)
    assert report.near_duplicates == 0 and len(pool) == 20
