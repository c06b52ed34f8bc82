"""The datatrove scoring pass: local executor with 2 workers matches in-process scores (the Slurm and Ray
executors: tests/test_scale_out.py)."""

import random

import numpy as np
import pytest

from dsmath_lib.corpus.classifier import FastTextParams, MathClassifier, train_classifier
from dsmath_lib.corpus.scoring import read_scores, run_scoring, write_pool_shards
from dsmath_lib.synth.crawl import exposition_page, prose_page
from dsmath_lib.webdata import WebPage


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    work = tmp_path_factory.mktemp("score")
    rng = random.Random(0)
    model = train_classifier([exposition_page(rng, "areas") for _ in range(60)], [prose_page(rng) for _ in range(60)],
                             work / "model", FastTextParams(dim=16, epoch=10, bucket=20_000))
    pages = [WebPage(f"https://s.example/{i}", exposition_page(rng, "gcd") if i % 3 == 0 else prose_page(rng))
             for i in range(301)]
    return work, model, pages


def test_local_pipeline_with_two_workers_scores_every_page(setup):
    work, model, pages = setup
    shards = write_pool_shards(pages, work / "pool", n_shards=2)
    assert len(shards) == 2
    scores = read_scores(run_scoring(work / "pool", model, work / "run", "local", tasks=2, workers=2))
    assert set(scores) == {p.url for p in pages}
    direct = MathClassifier(model).predict_proba([p.text for p in pages])
    assert np.allclose([scores[p.url] for p in pages], direct, atol=1e-6)
    assert sorted((work / "run" / "scores").glob("*.jsonl")) and (work / "run" / "logs" / "stats.json").exists()


def test_read_scores_names_bad_file_and_line(tmp_path):
    (tmp_path / "00000.jsonl").write_text('{"id": "a", "math_score": 0.5}\n{"id": "b"}\n')
    with pytest.raises(ValueError, match="00000.jsonl:2"):
        read_scores(tmp_path)
    with pytest.raises(FileNotFoundError):
        read_scores(tmp_path / "missing")
