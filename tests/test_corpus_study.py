"""Notebook 01's library pieces: inputs, corpora writers, iteration and decontamination tables, the
planted-copy check, and the crawl's tutor-reply knob."""

import dataclasses
import json

import pandas as pd
import pytest

from dsmath_lib.config import MiningConfig, Params, WorldConfig
from dsmath_lib.corpus import BenchmarkIndex, dedup_pool
from dsmath_lib.corpus.inputs import (build_corpora, load_benchmarks, load_inputs, planted_questions, random_sample, read_corpus,
                                      read_files, run_mining, write_corpora)
from dsmath_lib.corpus.measure import (check_exact_copies_removed, decontaminate_corpora, iteration_table,
                                       paper_comparison, planted_outcomes, recall_precision_figure,
                                       score_histogram_figure, summary_sentence)
from dsmath_lib.problem import Problem
from dsmath_lib.synth.crawl import make_crawl
from dsmath_lib.webdata import WebPage, write_wet


def _params(**mining) -> Params:
    cfg = dataclasses.replace(MiningConfig(), crawl_pages=1200, iterations=2, token_budget=35_000, dim=32,
                              bucket=50_000, planted_per_benchmark=6, **mining)
    return Params(scale="smoke", world=WorldConfig(n_train=10, n_test=20), mining=cfg)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    params = _params()
    inputs = load_inputs(params)
    pool, _ = dedup_pool(inputs.pages)
    work = tmp_path_factory.mktemp("mine")
    result = run_mining(inputs, pool, params.mining, work / "mining", work / "ann")
    return params, inputs, pool, result, work


def test_tutor_reply_share_governs_forum_threads():
    def tutor_threads(share):
        crawl = make_crawl(1500, seed=0, tutor_reply_share=share)
        return sum("reply from tutor" in p.text for p in crawl.pages if p.kind == "math_forum")
    assert tutor_threads(0.0) == 0
    assert tutor_threads(0.2) < tutor_threads(0.8)
    assert make_crawl(300, seed=1).pages == make_crawl(300, seed=1, tutor_reply_share=0.4).pages
    with pytest.raises(ValueError, match="tutor_reply_share"):
        make_crawl(100, tutor_reply_share=1.5)


def test_worksheet_share_lays_out_lessons_as_question_answer_pairs_and_changes_nothing_else():
    from dsmath_lib.eval.prompting import few_shot_prompt

    plain, half = make_crawl(1500, seed=0), make_crawl(1500, seed=0, worksheet_share=0.5)
    changed = [(a, b) for a, b in zip(plain.pages, half.pages) if a.text != b.text]
    lessons = sum(p.kind == "exposition" for p in plain.pages)
    assert all(a.url == b.url and a.kind == b.kind == "exposition" for a, b in changed)
    assert 0.35 * lessons < len(changed) < 0.65 * lessons  # duplicates of a changed lesson change with it
    assert [p.url for p in plain.pages] == [p.url for p in half.pages] and plain.seed_urls == half.seed_urls
    # a worksheet pair reads as the few-shot prompt writes a shot: the same question and solution lines
    page = changed[0][1].text
    question = page.split("\n")[2].removeprefix("Question: ")
    answer = page.split("\nAnswer: ", 1)[1].split("\n\n", 1)[0]
    shot = few_shot_prompt("?", [Problem("s", "b", question, answer, "", "numeric")])
    assert shot.split("\n\n")[0] in page and answer.split("\n")[-1].startswith("The answer is ")
    assert make_crawl(300, seed=1).pages == make_crawl(300, seed=1, worksheet_share=0.0).pages
    with pytest.raises(ValueError, match="worksheet_share"):
        make_crawl(100, worksheet_share=-0.1)


def test_inputs_plant_test_questions_and_index_them(run):
    params, inputs, *_ = run
    originals = {u: m for u, m in inputs.planted.items() if not m["copy"]}
    assert len(originals) == 2 * 2 * params.mining.planted_per_benchmark  # 2 benchmarks, exact + paraphrase
    lines = {p.url: p.text.split("\n") for p in inputs.pages}
    exact = [lines[u][m["line"]] for u, m in originals.items() if not m["paraphrase"]]
    assert sorted(exact) == sorted(planted_questions(load_benchmarks(params), params.mining.planted_per_benchmark))
    assert len(inputs.benchmark_texts) == 2 * 2 * params.world.n_test  # question + solution each


def test_inputs_give_the_crawl_every_test_question_and_the_world(monkeypatch):
    import dsmath_lib.synth.crawl as crawl

    seen = {}

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return make_crawl(*args, **kwargs)
    monkeypatch.setattr(crawl, "make_crawl", spy)
    params = _params()
    load_inputs(params)
    questions = [p.question for probs in load_benchmarks(params).values() for p in probs]
    assert seen["test_questions"] == questions and len(questions) == 2 * params.world.n_test
    assert seen["world"] == params.world


def test_every_exact_planted_copy_is_removed(run):
    params, inputs, pool, result, _ = run
    corpora = build_corpora(inputs, pool, result)
    index = BenchmarkIndex.build(inputs.benchmark_texts)
    clean, table, outcomes = decontaminate_corpora({"pool": pool, **corpora}, index, inputs.planted)
    assert check_exact_copies_removed(outcomes) > 0
    pool_row = table.set_index("corpus").loc["pool"]
    assert pool_row["exact caught"] == pool_row["exact copies"] > 0
    for page in clean["pool"]:  # no exact planted benchmark question survives anywhere in the pool
        meta = inputs.planted.get(page.url)
        original = next(p for p in inputs.pages if p.url == page.url)
        assert meta is None or meta["paraphrase"] or original.text.split("\n")[meta["line"]] not in page.text.split("\n")


def test_check_fails_on_a_surviving_exact_copy():
    planted = {"u1": {"line": 1, "paraphrase": False}, "u2": {"line": 1, "paraphrase": True}}
    before = [WebPage("u1", "head\nQ line\ntail"), WebPage("u2", "head\nP")]
    outcomes = planted_outcomes(before, [WebPage("u1", "head\nQ line\ntail"), WebPage("u2", "head")], planted, "c")
    assert list(outcomes["caught"]) == [False, True]
    with pytest.raises(AssertionError, match="c:u1"):
        check_exact_copies_removed(outcomes)
    dropped = planted_outcomes(before, [], planted)
    assert dropped["caught"].all() and list(dropped["other lines removed"]) == [2, 1]


def test_iteration_table_and_figures(run):
    params, inputs, pool, result, _ = run
    table = iteration_table(result.records)
    assert list(table["iteration"]) == [1, 2] and table["recall"].between(0, 1).all()
    assert table["already collected"].isna().tolist() == [True, False]
    assert len(result.collected) == len(result.iteration_scores) == 2
    comparison = paper_comparison(result.records, 100, 10, 0.1, 10)
    assert comparison.set_index("quantity").loc["iterations", "paper"] == 4
    recall_precision_figure(table)
    score_histogram_figure(result, inputs.labels)
    score_histogram_figure(result, None)
    decon = pd.DataFrame([{"corpus": "final", "exact caught": 1, "exact copies": 1, "paraphrases caught": 0,
                           "paraphrases": 1, "clean segments removed by mistake": 0}])
    assert "iteration 2" in summary_sentence(table, decon)


def test_corpora_written_with_token_counts(run, tmp_path):
    params, inputs, pool, result, _ = run
    corpora = build_corpora(inputs, pool, result)
    assert {"seed_only", "iteration_1", "final", "random_pool", "arxiv", "code", "general"} == set(corpora)
    assert all(inputs.labels[p.url] == "code" for p in corpora["code"])
    table = write_corpora({"pool": pool, **corpora}, tmp_path, skip=("pool",))
    assert "pool" not in set(table["corpus"]) and not (tmp_path / "pool.jsonl").exists()
    back = read_corpus(tmp_path / "final.jsonl")
    assert [p.url for p in back] == [p.url for p in corpora["final"]]
    row = table.set_index("corpus").loc["final"]
    assert row["tokens"] == sum(p.metadata["n_tokens"] for p in back) == sum(len(p.text.split()) for p in back)
    assert json.loads((tmp_path / "corpora.json").read_text())[0]["corpus"] == "seed_only"
    final_tokens = row["tokens"]
    sample_tokens = sum(len(p.text.split()) for p in corpora["random_pool"])
    assert final_tokens * 0.9 < sample_tokens <= final_tokens


def test_random_sample_budget_and_determinism():
    pages = [WebPage(str(i), "w " * (i % 5 + 1)) for i in range(50)]
    a, b = random_sample(pages, 40, rng_seed=3), random_sample(pages, 40, rng_seed=3)
    assert [p.url for p in a] == [p.url for p in b]
    assert sum(len(p.text.split()) for p in a) <= 40


def test_files_source_reads_wet_and_refuses_the_oracle(tmp_path, run):
    write_wet(tmp_path / "pool.warc.wet", [WebPage("https://a.example/1", "some text"), WebPage("https://b.example/2", "x y")])
    assert [p.url for p in read_files([str(tmp_path / "*.wet")], "mining.pool_files")] == ["https://a.example/1", "https://b.example/2"]
    with pytest.raises(FileNotFoundError, match="mining.seed_files"):
        read_files([str(tmp_path / "none-*.jsonl")], "mining.seed_files")
    _, inputs, pool, *_ = run
    unlabelled = dataclasses.replace(inputs, labels=None)
    with pytest.raises(ValueError, match="oracle"):
        run_mining(unlabelled, pool, MiningConfig(), tmp_path / "m", tmp_path / "a")


def test_rerun_in_a_folder_of_other_inputs_starts_over(run):
    params, inputs, pool, result, work = run
    smaller = pool[:-50]
    cfg = dataclasses.replace(params.mining, iterations=1)
    again = run_mining(inputs, smaller, cfg, work / "mining", work / "ann")
    assert len(again.records) == 1


@pytest.mark.parametrize("name", ["dsmath_lib.corpus.inputs", "dsmath_lib.corpus.measure"])
def test_docstring_examples(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0


def test_near_duplicate_of_a_planted_page_counts_as_paraphrase():
    from dsmath_lib.corpus.inputs import planted_pages
    from dsmath_lib.synth.crawl import CrawlPage

    text = "head\nq\nQ one two\ntail"
    pages = [CrawlPage("https://h.example/q/0", text, "planted", {"planted": 0, "paraphrase": False, "planted_line": "Q one two"}),
             CrawlPage("https://m.example/h/q/0/", text, "planted", {"duplicate_of": "https://h.example/q/0"}),
             CrawlPage("https://m2.example/h/q/0", text.replace("one", "the"), "planted",
                       {"near_duplicate_of": "https://h.example/q/0"})]
    meta = planted_pages(pages)
    assert [(m["paraphrase"], m["copy"]) for m in meta.values()] == [(False, False), (False, True), (True, True)]
