"""The datatrove scoring pass: local executor with 2 workers matches in-process scores; cluster executors build."""

import random

import numpy as np
import pytest

from dsmath_lib.corpus.classifier import FastTextParams, MathClassifier, train_classifier
from dsmath_lib.corpus.scoring import make_executor, read_scores, run_scoring, scoring_pipeline, write_pool_shards
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


def test_cluster_executors_are_built_not_run(setup, tmp_path):
    work, model, _ = setup
    pipeline = scoring_pipeline(work / "pool", model, tmp_path / "out")
    slurm = make_executor("slurm", pipeline, tasks=64, workers=16, logging_dir=tmp_path / "logs",
                          slurm_partition="cpu", slurm_time="01:00:00")
    assert type(slurm).__name__ == "SlurmPipelineExecutor" and slurm.tasks == 64 and slurm.partition == "cpu"
    with pytest.raises(ValueError, match="partition"):
        make_executor("slurm", pipeline, 2, 2, tmp_path / "logs")
    with pytest.raises(ValueError, match="unknown executor"):
        make_executor("spark", pipeline, 2, 2, tmp_path / "logs")


def test_ray_executor_is_built_when_ray_is_installed(setup, tmp_path):
    pytest.importorskip("ray")
    work, model, _ = setup
    ray_exec = make_executor("ray", scoring_pipeline(work / "pool", model, tmp_path / "o"), 8, 4, tmp_path / "l")
    assert type(ray_exec).__name__ == "RayPipelineExecutor"


def test_read_scores_names_bad_file_and_line(tmp_path):
    (tmp_path / "00000.jsonl").write_text('{"id": "a", "math_score": 0.5}\n{"id": "b"}\n')
    with pytest.raises(ValueError, match="00000.jsonl:2"):
        read_scores(tmp_path)
    with pytest.raises(FileNotFoundError):
        read_scores(tmp_path / "missing")
