"""The synthetic crawl: deterministic, every kind present, forum math only under its path, planted texts."""

import random

from dsmath_lib.corpus.annotation import url_path
from dsmath_lib.synth.crawl import KINDS, MATH_KINDS, casual_math, make_crawl, math_item, paraphrase

PLANTED = ["Mia buys 7 packs of 12 crayons and gives 15 crayons to her brother. How many crayons does Mia keep?",
           "Find the remainder when 2 to the power 10 is divided by 7."]


def test_same_seed_same_crawl_other_seed_other_crawl():
    a, b, c = make_crawl(400, seed=3), make_crawl(400, seed=3), make_crawl(400, seed=4)
    assert [(p.url, p.text, p.kind) for p in a.pages] == [(p.url, p.text, p.kind) for p in b.pages]
    assert [p.text for p in a.pages] != [p.text for p in c.pages]


def test_every_kind_present_and_size_close_to_request():
    crawl = make_crawl(1500, seed=0, planted_texts=PLANTED)
    counts = crawl.kind_counts()
    assert all(counts[k] > 0 for k in KINDS), counts
    assert 1450 <= len(crawl.pages) <= 1550 + 2 * len(PLANTED)


def test_forum_math_lives_only_under_questions_math_of_mixed_forums():
    crawl = make_crawl(1500, seed=0)
    originals = [p for p in crawl.pages if not p.meta]
    forum_paths = {url_path(p.url).split("/", 1)[1] for p in originals if p.kind == "math_forum"}
    assert forum_paths == {"questions/math"}
    math_domains = {p.domain for p in originals if p.kind == "math_forum"}
    other_on_same = {p.domain for p in originals if p.kind == "forum_other"}
    assert math_domains <= other_on_same  # the same forums also hold cooking, travel, ... threads


def test_forum_style_differs_from_seed_style():
    rng = random.Random(0)
    q, a = casual_math(rng)
    statement, steps, _ = math_item(rng)
    assert "$" not in q + a and "$" in statement + " ".join(steps)


def test_seed_is_exposition_from_some_domains_only():
    crawl = make_crawl(1500, seed=0)
    labels = crawl.labels()
    seed = crawl.seed_pages()
    assert seed and all(labels[p.url] == "exposition" for p in seed)
    seed_domains = {p.url.split("/")[2] for p in seed}
    all_domains = {p.domain for p in crawl.pages if p.kind == "exposition" and not p.meta}
    assert seed_domains < all_domains


def test_planted_texts_appear_verbatim_and_paraphrased():
    crawl = make_crawl(300, seed=0, planted_texts=PLANTED)
    planted = [p for p in crawl.pages if p.kind == "planted" and "planted" in p.meta]
    assert len(planted) == 2 * len(PLANTED)
    for p in planted:
        text = PLANTED[p.meta["planted"]]
        assert (text in p.text) != p.meta["paraphrase"]
    assert MATH_KINDS >= {"planted"}


def test_duplicates_exact_and_near():
    crawl = make_crawl(1000, seed=0)
    exact = [p for p in crawl.pages if "duplicate_of" in p.meta]
    near = [p for p in crawl.pages if "near_duplicate_of" in p.meta]
    assert exact and near
    texts = {p.url: p.text for p in crawl.pages if not p.meta}
    assert all(p.text == texts[p.meta["duplicate_of"]] for p in exact if p.meta["duplicate_of"] in texts)
    assert any(p.url == p.meta["duplicate_of"] for p in exact)  # some re-crawled at the same URL


def test_paraphrase_keeps_a_long_verbatim_tail():
    text = PLANTED[0]
    para = paraphrase(text, random.Random(2))
    assert para != text and " ".join(text.split()[4:]) in para
