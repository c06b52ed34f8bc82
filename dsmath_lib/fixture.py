"""The real-smoke scale's stand-ins for what the gpu scale downloads: a small pretrained-format checkpoint,
SFT data in the hub's chat-messages format, and seed pages, all built from the real files in ../shared/data.

    python -m dsmath_lib.fixture --out artifacts/real-smoke/fixture      # what the runner does for real-smoke
    from dsmath_lib.fixture import build
    build("artifacts/real-smoke/fixture")   # model/ (save_pretrained), sft.jsonl, seed_pages.jsonl

What it writes, and why each is honest about what it stands for:
- model/: a Llama-architecture config with random weights and a byte-level BPE tokenizer trained on the real
  data (GSM8K train, MATH500's train split, the web sample), saved with save_pretrained. The tokenizer has its
  own special tokens like a hub model (Llama 3's <|begin_of_text|> / <|end_of_text|>, no pad, none of dsmath's
  chat or code tokens), so model.pretrained: <this folder> goes through the code a hub name goes through
  (tokenizer.load_tokenizer adds our tokens, model._load_pretrained resizes the embedding). It is untrained:
  real-smoke exercises the code path, not accuracy.
- sft.jsonl: GSM8K train as {"messages": [{"role": "user", ...}, {"role": "assistant", ...}]}, the format
  AI-MO/NuminaMath-CoT ships, each solution ending with \\boxed{answer} as NuminaMath's do.
- seed_pages.jsonl: there is no OpenWebMath sample in ../shared/data, so the seed (positive) pages are worked
  solutions of the benchmarks' train splits (GSM8K train, MATH500's train split) written as pages {url, text}:
  math exposition of the kind OpenWebMath holds, and disjoint from every test set the study evaluates on.
A finished build leaves fixture.json; building again with the same settings does nothing.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from dsmath_lib import paths
from dsmath_lib.data import load_benchmark
from dsmath_lib.webdata import read_pages

BOS, EOS = "<|begin_of_text|>", "<|end_of_text|>"  # a hub model's own special tokens (Llama 3's names)
SETTINGS = {"vocab_size": 1024, "hidden_size": 64, "layers": 2, "heads": 2, "context": 1024,
            "tokenizer_texts": 4000, "sft_examples": 2000, "seed_pages": 300, "seed": 0}
WEB_SAMPLE = "web-sample/dolma-cc/*.jsonl"  # the uncompressed dolma files: real pages for the tokenizer


def train_hub_style_tokenizer(texts: list[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """A byte-level BPE (digits split one per token, as DeepSeek's and Qwen2's) with only a hub model's own
    BOS / EOS, BOS prepended by the post-processor as Llama's tokenizers do.

    >>> tok = train_hub_style_tokenizer(["12 apples and 3 pears"] * 20, 300)
    >>> tok.decode(tok("12 apples")["input_ids"], skip_special_tokens=True), tok.pad_token
    ('12 apples', None)
    """
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False)])
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=[BOS, EOS], min_frequency=2, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    bpe.post_processor = processors.TemplateProcessing(single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B",
                                                       special_tokens=[(BOS, bpe.token_to_id(BOS))])
    return PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token=BOS, eos_token=EOS,
                                   clean_up_tokenization_spaces=False, model_max_length=SETTINGS["context"])


def random_checkpoint(tokenizer: PreTrainedTokenizerFast, settings: dict = SETTINGS) -> LlamaForCausalLM:
    """A small Llama with random weights (seeded), shaped like a hub checkpoint: untied embeddings."""
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=settings["hidden_size"],
                         intermediate_size=32 * -(-8 * settings["hidden_size"] // 96),
                         num_hidden_layers=settings["layers"], num_attention_heads=settings["heads"],
                         num_key_value_heads=settings["heads"], max_position_embeddings=settings["context"],
                         tie_word_embeddings=False, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings["seed"])
        return LlamaForCausalLM(config)


def boxed_solution(solution: str, answer: str) -> str:
    """A GSM8K solution (data.gsm8k_problem's "... The answer is n.") ending with \\boxed{n}, as NuminaMath's.

    >>> boxed_solution("2+3=5\\nThe answer is 5.", "5")
    '2+3=5\\nThe answer is $\\\\boxed{5}$.'
    """
    steps = solution.rsplit("The answer is", 1)[0]
    return f"{steps}The answer is $\\boxed{{{answer}}}$."


def sft_records(n: int) -> list[dict]:
    """The first n GSM8K train problems as NuminaMath-CoT records {"messages": [user, assistant]}."""
    return [{"messages": [{"role": "user", "content": p.question},
                          {"role": "assistant", "content": boxed_solution(p.solution, p.answer)}]}
            for p in load_benchmark("gsm8k", split="train")[:n]]


def seed_pages(n: int, seed: int = 0) -> list[dict]:
    """n worked train solutions as pages {url, text}: half GSM8K train, half MATH500's train split."""
    rng = random.Random(seed)
    pages = []
    for name in ("gsm8k", "math500"):
        for p in rng.sample(load_benchmark(name, split="train"), n // 2):
            pages.append({"url": f"https://{name}-train.invalid/{p.id.rsplit('/', 1)[-1]}",
                          "text": f"{p.question}\n\n{p.solution}"})
    return pages


def tokenizer_texts(n: int, seed: int = 0) -> list[str]:
    """Real text for the BPE: benchmark train problems with solutions, and the web sample's pages."""
    problems = load_benchmark("gsm8k", split="train") + load_benchmark("math500", split="train")
    texts = [f"{p.question}\n{p.solution}" for p in random.Random(seed).sample(problems, min(n, len(problems)))]
    web = [page.text for f in sorted(paths.SHARED_DATA.glob(WEB_SAMPLE)) for page in read_pages(f)]
    return texts + web


def build(out: str | Path, settings: dict = SETTINGS) -> Path:
    """Write model/, sft.jsonl and seed_pages.jsonl under `out` (see module doc); returns `out`."""
    out = Path(out)
    stamp = out / "fixture.json"
    if stamp.is_file() and json.loads(stamp.read_text()) == settings:
        return out
    tmp = out.parent / f".{out.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    tokenizer = train_hub_style_tokenizer(tokenizer_texts(settings["tokenizer_texts"], settings["seed"]),
                                          settings["vocab_size"])
    random_checkpoint(tokenizer, settings).save_pretrained(tmp / "model")
    tokenizer.save_pretrained(tmp / "model")
    for name, rows in (("sft.jsonl", sft_records(settings["sft_examples"])),
                       ("seed_pages.jsonl", seed_pages(settings["seed_pages"], settings["seed"]))):
        (tmp / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    (tmp / "fixture.json").write_text(json.dumps(settings, indent=1) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="folder to write (e.g. artifacts/real-smoke/fixture)")
    print(build(parser.parse_args(argv).out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
