"""World files and tables written by notebook 00_world."""

import doctest

import pytest

from dsmath_lib.config import WorldConfig
from dsmath_lib.data import read_jsonl
from dsmath_lib.synth import export, generate_world
from dsmath_lib.tokenizer import train_tokenizer


@pytest.fixture(scope="module")
def world():
    return generate_world(WorldConfig(n_train=200, n_test=30))


def test_write_world_round_trips(world, tmp_path):
    files = export.write_world(world, tmp_path)
    assert set(files) == {"train", "synth-gsm", "synth-math"}
    back = read_jsonl(files["synth-math"], "synth-math", "test")
    assert back == world.test["synth-math"]
    assert len(read_jsonl(files["train"], "synth", "train")) == len(world.train)
    assert not list(tmp_path.rglob("*.tmp"))


def test_world_table_counts(world):
    table = export.world_table(world)
    assert table.problems.sum() == len(world.train) + 60
    assert (table.mean_steps >= 1).all()
    gsm_test = table[(table.benchmark == "synth-gsm") & (table.split == "test")]
    assert list(gsm_test.level) == sorted(set(p.level for p in world.test["synth-gsm"]))


def test_tokenizer_texts_only_from_train(world):
    texts = export.tokenizer_texts(world, 50, seed=1)
    assert len(texts) == 50 and texts == export.tokenizer_texts(world, 50, seed=1)
    test_questions = {p.question for ps in world.test.values() for p in ps}
    assert not test_questions & set(texts)


def test_token_table(world):
    tok = train_tokenizer(export.tokenizer_texts(world, 300), vocab_size=400)
    table = export.token_table(world, tok)
    assert set(table.benchmark) == {"synth-gsm", "synth-math"}
    assert (table.max_solution_tokens >= table.mean_solution_tokens).all()


def test_doctests():
    assert doctest.testmod(export).failed == 0


def test_example_problems_span_levels(world):
    examples = export.example_problems(world)
    assert [p.benchmark for p in examples] == ["synth-gsm", "synth-gsm", "synth-math", "synth-math"]
    assert examples[0].level == 1 and examples[1].level == max(p.level for p in world.test["synth-gsm"])
