"""SFT glue (dsmath_lib.sft): examples from the world, packing with a cache, the run spec, publishing."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import json

import pytest

from dsmath_lib import sft
from dsmath_lib.config import ModelConfig, SFTConfig, WorldConfig, load_params, params_path
from dsmath_lib.model import build_model, read_card, save_model
from dsmath_lib.synth import export, generate_world
from dsmath_lib.tokenizer import train_tokenizer
from dsmath_lib.train import read_packed


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("world")
    export.write_world(generate_world(WorldConfig(n_train=40, n_test=10)), folder)
    return folder


@pytest.fixture(scope="module")
def tok(world_dir):
    texts = [json.loads(line)["solution"] for line in (world_dir / "train.jsonl").read_text().splitlines()]
    return train_tokenizer(texts * 3, vocab_size=400)


def test_load_examples_covers_formats_and_budget(world_dir):
    examples = sft.load_examples(SFTConfig(n_examples=30), world_dir, seed=0)
    assert len(examples) == 30 and {e.format for e in examples} == {"cot", "pot", "tool"}
    assert examples == sft.load_examples(SFTConfig(n_examples=30), world_dir, seed=0)
    everything = sft.load_examples(SFTConfig(formats=["cot"]), world_dir)
    assert len(everything) == 80 and all(e.response.endswith("<|eos|>") for e in everything)
    table = sft.example_table(examples)
    assert set(table["format"]) == {"cot", "pot", "tool"} and table["examples"].sum() == 30


def test_pack_is_cached_and_masks_prompts(world_dir, tok, tmp_path):
    examples = sft.load_examples(SFTConfig(n_examples=12), world_dir)
    path = sft.pack(examples, tok, 256, tmp_path / "sft.npy")
    data = read_packed(path)
    assert data.rows >= 1 and 0 < data.loss_tokens < data.tokens
    stamp = (tmp_path / "sft.json").stat().st_mtime_ns
    sft.pack(examples, tok, 256, tmp_path / "sft.npy")
    assert (tmp_path / "sft.json").stat().st_mtime_ns == stamp  # same examples: not packed again
    sft.pack(examples[:6], tok, 256, tmp_path / "sft.npy")
    assert read_packed(path).tokens < data.tokens


def test_spec_follows_the_sft_schedule_in_a_digest_folder_and_publish(tok, tmp_path):
    params = load_params(params_path("smoke"))
    run = sft.spec(params, tmp_path / "base", tmp_path / "sft.npy", tmp_path / "runs")
    assert run.decay_at == params.sft.decay_at and run.decay_to == params.sft.decay_to
    assert run.lr == params.sft.lr and run.card["stage"] == "instruct"
    assert run.tokens == params.sft.steps * params.sft.batch_size * params.model.context_length
    assert run.out == sft.spec(params, tmp_path / "base", tmp_path / "sft.npy", tmp_path / "runs").out
    params.sft.decay_at, params.sft.decay_to = [], []  # the paper's constant LR
    assert sft.spec(params, tmp_path / "base", tmp_path / "sft.npy", tmp_path / "runs").decay_at == []
    model = build_model(ModelConfig(size="smoke", context_length=64), tok)
    trained = save_model(model, tok, tmp_path / "run" / "final", card={"stage": "instruct", "tokens": 5})
    (trained / "evals").mkdir()
    published = sft.publish(trained, tmp_path / "checkpoints" / "instruct")
    card = read_card(published)
    assert card["stage"] == "instruct" and card["tokens"] == 5 and card["source"] == str(trained)
    assert (published / "config.json").is_file() and not (published / "evals").exists()
