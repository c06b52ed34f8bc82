"""The iterative miner end to end: a smoke crawl, and a WET file written with warcio, mined and decontaminated."""

import dataclasses
import math

import pytest

from dsmath_lib.config import MiningConfig
from dsmath_lib.corpus import BenchmarkIndex, OracleAnnotator, decontaminate, dedup_pool, mine, select_top
from dsmath_lib.corpus.miner import n_tokens, precision_recall
from dsmath_lib.synth.crawl import MATH_KINDS, make_crawl
from dsmath_lib.webdata import read_pages, write_wet

PLANTED = ["Mia buys 7 packs of 12 crayons and gives 15 crayons to her brother. How many crayons does Mia keep?",
           "A train travels 60 miles per hour for 3 hours and then 40 miles per hour for 2 hours. How far does it go?"]


def _config(pool, labels, iterations):
    math_tokens = sum(n_tokens(p.text) for p in pool if labels[p.url] in MATH_KINDS)
    return dataclasses.replace(MiningConfig(), iterations=iterations, token_budget=math_tokens, tasks=2, workers=2,
                               dim=32, bucket=50_000, paths_per_iteration=20)


def test_select_top_and_precision_recall():
    assert select_top({"a": 0.2, "b": 0.9, "c": 0.9}, {"a": 1, "b": 2, "c": 2}, budget=4) == ["b", "c"]
    assert math.isnan(precision_recall({"a"}, None, {"math"})[0])


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    crawl = make_crawl(1500, seed=0, planted_texts=PLANTED)
    pool, report = dedup_pool(crawl.web_pages())
    labels = crawl.labels()
    cfg = _config(pool, labels, iterations=3)
    result = mine(pool, crawl.seed_pages(), cfg, tmp_path_factory.mktemp("mine"),
                  OracleAnnotator(labels, MATH_KINDS), labels, MATH_KINDS)
    return crawl, pool, report, cfg, result


def test_smoke_crawl_mining_iterations(smoke_run):
    crawl, pool, report, cfg, result = smoke_run
    assert report.url_duplicates > 0 and report.near_duplicates > 0
    first, second, third = result.records
    assert all(r.tokens <= cfg.token_budget and r.pages > 0 for r in result.records)
    assert math.isnan(first.overlap_with_previous) and 0 < second.overlap_with_previous <= 1
    # the first classifier finds the seed's style; forum math is found through domains and paths
    assert any(d.startswith("forum") for d in first.domains_discovered)
    marked = set(sum((r.paths_marked for r in result.records), []))
    assert any(p.endswith("/questions/math") for p in marked)
    assert not any("/questions/cooking" in p for p in marked)
    assert second.seed_pages > first.seed_pages and third.seed_pages >= second.seed_pages
    assert third.recall > first.recall + 0.1 and third.precision > first.precision
    assert first.scoring_pages_per_second > 0
    assert {p.url for p in result.corpus} <= {p.url for p in pool}


def test_mined_wet_file_end_to_end(tmp_path):
    """Write a crawl as a WET file with warcio, read it back, dedup, mine 2 iterations, decontaminate."""
    crawl = make_crawl(800, seed=5, planted_texts=PLANTED)
    wet = tmp_path / "crawl.warc.wet.gz"
    assert write_wet(wet, crawl.web_pages()) == len(crawl.pages)
    errors = []
    pages = list(read_pages(wet, errors))
    assert errors == [] and [p.text for p in pages] == [p.text for p in crawl.pages]
    pool, _ = dedup_pool(pages)
    labels = crawl.labels()
    result = mine(pool, crawl.seed_pages(), _config(pool, labels, iterations=2), tmp_path / "work",
                  OracleAnnotator(labels, MATH_KINDS), labels, MATH_KINDS)
    assert len(result.records) == 2 and result.records[0].precision > 0.5
    index = BenchmarkIndex.build(PLANTED)
    clean, report = decontaminate(result.corpus, index)
    assert {p.url for p in result.corpus if labels[p.url] == "planted"} <= set(report.removed_urls)
    assert all("crayons to her brother" not in p.text for p in clean)
    # the whole pool: every planted page and exact copy found (a near duplicate's changed words may leave
    # its paraphrase without a 10-gram), and nothing else
    _, pool_report = decontaminate(pool, index)
    in_pool = {p.url for p in pool}
    not_near = {p.url for p in crawl.pages if p.kind == "planted" and "near_duplicate_of" not in p.meta} & in_pool
    assert not_near <= set(pool_report.removed_urls) <= {u for u in in_pool if labels[u] == "planted"}
    assert not_near


def test_workdir_of_other_inputs_is_refused(tmp_path):
    crawl = make_crawl(300, seed=2)
    pool, _ = dedup_pool(crawl.web_pages())
    cfg = dataclasses.replace(_config(pool, crawl.labels(), iterations=1), workers=1, tasks=1)
    first = mine(pool, crawl.seed_pages(), cfg, tmp_path, lambda cands, it: set())
    again = mine(pool, crawl.seed_pages(), cfg, tmp_path, lambda cands, it: set())  # resumes: same scores
    assert first.scores == again.scores and math.isnan(first.records[0].precision)
    with pytest.raises(ValueError, match="other inputs"):
        mine(pool[:-1], crawl.seed_pages(), cfg, tmp_path, lambda cands, it: set())
