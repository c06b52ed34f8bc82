"""Few-shot examples and RL questions come from each benchmark's own train split (eval.benchmarks): the world's
at the laptop scales, as before; GSM8K's / MATH's at the real ones, with an error, never the world's problems,
when that split is missing."""

import pytest

from dsmath_lib import paths
from dsmath_lib.data import BenchmarkError
from dsmath_lib.eval import benchmarks as B
from dsmath_lib.eval.prompting import select_shots
from dsmath_lib.problem import Problem


@pytest.fixture
def world(tmp_path):
    """A world folder whose train.jsonl interleaves synth-gsm and synth-math problems of levels 1-3."""
    problems = [Problem(f"{b}/train/{i}", b, f"q{i}", f"s{i}", str(i), "numeric", level=1 + i % 3)
                for i in range(12) for b in ("synth-gsm", "synth-math")]
    (tmp_path / "train.jsonl").write_text("".join(p.to_json() + "\n" for p in problems))
    return tmp_path


def test_synthetic_benchmarks_draw_from_the_world_as_before(world):
    everything = B.load_shot_pool(world)
    assert B.load_shot_pool(world, ["synth-gsm", "synth-math"]) == everything  # same problems, same order
    assert {p.benchmark for p in B.load_shot_pool(world, ["synth-math"])} == {"synth-math"}
    shots = B.shots_for("synth-gsm", everything, 2, seed=3)
    easiest = [p for p in everything if p.benchmark == "synth-gsm" and p.level == 1]
    assert shots == select_shots(easiest, 2, seed=3)


def test_a_real_benchmark_never_gets_the_worlds_problems(world):
    with pytest.raises(BenchmarkError, match=r"gsm8k: no few-shot examples.*no gsm8k train problems.*synth-gsm"):
        B.shots_for("gsm8k", B.load_shot_pool(world), 2)


def test_a_missing_train_split_is_an_error_naming_it(world, monkeypatch):
    monkeypatch.setattr(paths, "SHARED_DATA", world / "no-shared-data")  # no local copies; HF_HUB_OFFLINE=1
    with pytest.raises(BenchmarkError, match=r"^gsm8k: few-shot examples and RL questions come from the gsm8k "
                                             r"train split, which is missing \(no local copy at .*gsm8k/train\.jsonl"):
        B.load_shot_pool(world, ["synth-gsm", "gsm8k"])
    with pytest.raises(BenchmarkError, match=r"^math500: .* the math500 train split, which is missing"):
        B.load_shot_pool(world, ["math500"])
    (world / "train.jsonl").write_text(Problem("synth-math/train/0", "synth-math", "q", "s", "1", "numeric").to_json())
    with pytest.raises(BenchmarkError, match="synth-gsm: no train problems"):
        B.load_shot_pool(world, ["synth-gsm"])


def test_gsm8k_shots_come_from_its_own_train_split(shared_data, tmp_path):
    pool = B.load_shot_pool(tmp_path, ["gsm8k"])  # no world needed for a real benchmark
    assert len(pool) > 7000 and {p.benchmark for p in pool} == {"gsm8k"}
    shots = B.shots_for("gsm8k", pool, 4)
    assert len(shots) == 4 and all(p.id.startswith("gsm8k/train/") for p in shots)
