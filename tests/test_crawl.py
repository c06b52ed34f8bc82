"""The synthetic crawl: deterministic, every kind present, forum math only under its path, planted texts, and
math pages working the world's own problems, none of them a test problem."""

import random
from collections import Counter

import pytest

from dsmath_lib.config import WorldConfig
from dsmath_lib.corpus.annotation import url_path
from dsmath_lib.synth import FAMILIES, SCENARIOS, benchmark
from dsmath_lib.synth.crawl import (KINDS, MATH_KINDS, casual_math, exposition_page, make_crawl, math_item, paraphrase,
                                    world_problem)
from dsmath_lib.synth.overlap import OverlapIndex

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
    for _ in range(50):
        q, a = casual_math(rng)
        assert "$" not in q + a and q == q.lower() and " = " not in a
    page = exposition_page(rng, "fractions")
    assert "Example 1. " in page and "Therefore the answer is $" in page and "Solution" in page


def test_world_problems_cover_both_benchmarks_every_family_easy_levels_first():
    rng = random.Random(0)
    problems = [world_problem(rng) for _ in range(3000)]
    assert {p.subject for p in problems} == set(SCENARIOS) | set(FAMILIES)
    assert 0.4 < sum(p.benchmark == "synth-gsm" for p in problems) / len(problems) < 0.6
    levels = Counter(p.level for p in problems)
    assert levels[1] > levels[2] > levels[3] > levels[4] > levels[5] > 0  # weights 4:3:2:1:0.5
    assert sum(levels[k] for k in (1, 2, 3)) / len(problems) > 0.8
    small = WorldConfig(gsm_max_steps=2, math_levels=2)
    assert {world_problem(rng, family, small).level for family in ("farm", "counting") for _ in range(50)} == {1, 2}
    with pytest.raises(ValueError, match="geometry"):
        world_problem(rng, "geometry")


def test_math_item_is_the_problem_without_its_answer_line():
    statement, steps, answer = math_item(random.Random(4), "algebra")
    p = world_problem(random.Random(4), "algebra")
    assert (statement, answer) == (p.question, p.answer) and steps == p.solution.split("\n")[:-1]
    assert all("The answer is" not in step for step in steps)


def test_exposition_page_lays_out_examples_easiest_first_one_step_per_line():
    drawn = [world_problem(random.Random(k), "shopping") for k in range(4)]
    queue = iter(drawn)
    page = exposition_page(random.Random(0), "money", lambda rng: next(queue)).split("\n")
    used = sorted(drawn[:sum(line.startswith("Example") for line in page)], key=lambda p: p.level)
    for i, p in enumerate(used, start=1):
        at = page.index(f"Example {i}. {p.question}")
        steps = p.solution.split("\n")[:-1]
        assert page[at + 2: at + 2 + len(steps)] == steps
        assert page[at + 2 + len(steps)] == f"Therefore the answer is ${p.answer}$."


def test_casual_math_speaks_the_problem_equations():
    p = world_problem(random.Random(2), "collection")
    q, a = casual_math(random.Random(0), p)
    assert q.startswith(p.question.lower().replace("$", "").rstrip("?")) and a.endswith(f"so its {p.answer}")
    assert a.count(" is ") >= len(p.solution.split("\n")) - 1


def test_worked_examples_never_overlap_a_test_question():
    cfg = WorldConfig(n_test=300)
    test = benchmark(cfg, "synth-gsm") + benchmark(cfg, "synth-math")
    crawl = make_crawl(1500, seed=0, test_questions=[p.question for p in test], world=cfg)
    index = OverlapIndex(test, cfg.ngram)
    math_lines = [line for p in crawl.pages if p.kind in ("exposition", "math_forum") for line in p.text.split("\n")
                  if line.startswith(("Example", "ok so"))]
    assert len(math_lines) > 500 and all(index.find(line) is None for line in math_lines)
    assert 0 < crawl.stats["examples rejected"] < 0.1 * crawl.stats["examples drawn"]
    assert make_crawl(300, seed=1).stats["examples rejected"] == 0


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
