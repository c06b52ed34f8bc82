"""The tokenizer: a byte-level BPE trained on the world's text, digits split one per token.

    from dsmath_lib.tokenizer import train_tokenizer, load_tokenizer
    tok = train_tokenizer(texts, vocab_size=1024)      # texts: any iterable of str
    tok.save_pretrained(path); tok = load_tokenizer(path)
    tok("x = 2024")["input_ids"]                        # <|bos|>, then one token per digit of 2024

The result is a transformers `PreTrainedTokenizerFast`, so `save_pretrained`, `from_pretrained` and
the trainers' collators work unchanged. Conventions every caller relies on:
- `tok(text)` prepends <|bos|> (like Llama's tokenizer); pass `add_special_tokens=False` for a piece
  that continues a sequence. Nothing appends <|eos|>: documents and answers add it themselves.
- Special tokens (dsmath_lib.chat.SPECIAL_TOKENS: the chat and tool format) are never split and decode
  to their literal text, so a decoded completion keeps its <|code|> ... <|/code|> blocks. `decode(encode(x)) == x` for any text.

Departures from the paper at small scale: DeepSeekMath reuses DeepSeek-Coder's 100K-token BPE (§2.2);
the tiny scale trains a ~1K-token BPE on the embedded world instead, because a 1-10M-parameter model
cannot afford a 100K x width embedding. Like the DeepSeek tokenizers it splits digits one per token,
which makes arithmetic learnable by models this small. At gpu/paper scale `load_tokenizer` takes the
pretrained model's own tokenizer by hub name and only adds the special tokens it lacks.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from dsmath_lib.chat import BOS, EOS, PAD, SPECIAL_TOKENS

N_BYTES = 256  # the byte-level alphabet: every string is representable without an unknown token


def _pre_tokenizer() -> pre_tokenizers.PreTokenizer:
    """Digits isolated first (so no merge can join two digits), then GPT-2's byte-level split."""
    return pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )


def train_tokenizer(texts: Iterable[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE with `vocab_size` entries (bytes + merges + SPECIAL_TOKENS) on `texts`.

    >>> tok = train_tokenizer(["12345 apples", "x^2 + 1"] * 50, vocab_size=300)
    >>> len(tok("12345", add_special_tokens=False)["input_ids"])
    5
    """
    minimum = N_BYTES + len(SPECIAL_TOKENS)
    if vocab_size < minimum:
        raise ValueError(f"tokenizer vocab_size={vocab_size} is below the {minimum} bytes + special tokens")
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = _pre_tokenizer()
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        min_frequency=2,  # a merge seen once is noise, not vocabulary
        show_progress=False,
    )
    n_texts = 0

    def counted(items: Iterable[str]):
        nonlocal n_texts
        for text in items:
            n_texts += 1
            yield text

    bpe.train_from_iterator(counted(texts), trainer)
    if n_texts == 0:
        raise ValueError("train_tokenizer: the text iterator was empty")
    bos_id = bpe.token_to_id(BOS)
    bpe.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, bos_id)]
    )
    return _wrap(bpe)


def _wrap(bpe: Tokenizer) -> PreTrainedTokenizerFast:
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        extra_special_tokens=[t for t in SPECIAL_TOKENS if t not in (PAD, BOS, EOS)],
        clean_up_tokenization_spaces=False,  # the default would eat spaces before punctuation
        model_max_length=10**9,  # the model's context, not the tokenizer, limits length
    )


def load_tokenizer(name_or_path: str | Path) -> PreTrainedTokenizerFast:
    """A tokenizer saved by `save_pretrained` (a local folder) or, at gpu/paper scale, a hub name.

    A tokenizer of another model (a hub name, or a pretrained checkpoint's folder: both load the same way)
    gets the SPECIAL_TOKENS it lacks (the model's embeddings must then be resized, which
    `dsmath_lib.model.build_model` does) and a pad token if it has none; ours already has them all. Offline
    (HF_HUB_OFFLINE=1) a hub name that is not in the local cache fails with a message naming it.
    """
    path = Path(name_or_path)
    if path.exists():
        if not (path / "tokenizer.json").is_file():
            raise FileNotFoundError(f"{path}: no tokenizer.json here (was the tokenizer saved with save_pretrained?)")
        return with_our_tokens(AutoTokenizer.from_pretrained(str(path)))
    try:
        tok = AutoTokenizer.from_pretrained(str(name_or_path))
    except OSError as err:
        raise OSError(
            f"tokenizer '{name_or_path}' is neither a local folder nor loadable from the hub "
            f"(offline runs with HF_HUB_OFFLINE=1 need it in the HF cache): {err}"
        ) from err
    return with_our_tokens(tok)


def with_our_tokens(tok: PreTrainedTokenizerFast) -> PreTrainedTokenizerFast:
    """`tok` with the SPECIAL_TOKENS it lacks added (never split) and a pad token if it has none."""
    missing = [t for t in SPECIAL_TOKENS if t not in tok.get_vocab() and t != PAD]
    if missing:
        tok.add_special_tokens({"extra_special_tokens": missing}, replace_extra_special_tokens=False)
    if tok.pad_token is None:
        tok.add_special_tokens({"pad_token": PAD})
    return tok
