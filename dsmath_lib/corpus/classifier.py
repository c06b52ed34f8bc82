"""The fastText math classifier: trained on seed pages (positives) against random pool pages (negatives).

    from dsmath_lib.corpus.classifier import FastTextParams, train_classifier, MathClassifier
    model_path = train_classifier(seed_texts, negative_texts, workdir, FastTextParams(dim=64))
    MathClassifier(model_path).predict_proba(["Solve $2x + 3 = 7$ ..."])   # [0.98]

Paper §2.1: 500K seed positives vs 500K random Common Crawl pages; dim 256, lr 0.1, word n-grams 3,
min count 3, 3 epochs. We keep lr, n-grams, min count and epochs, and shrink dim and the hash bucket
count (fastText's default 2M buckets x dim 256 floats is a 2 GB model) at small scale. Training runs on
one thread with a fixed seed, so the same data gives the same model. fastText reads one example per line:
newlines in a page become spaces, and text is lowercased (fastText's tokens are case-sensitive and the
paper does not say; lowercasing helps a small model).

`MathClassifier` loads its model lazily, on the first prediction, so it can be pickled into datatrove
workers as a path and loaded once in each worker process.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

MATH_LABEL = "__label__math"
OTHER_LABEL = "__label__other"


@dataclass(frozen=True)
class FastTextParams:
    dim: int = 64  # paper: 256
    lr: float = 0.1  # paper: 0.1
    word_ngrams: int = 3  # paper: 3
    min_count: int = 3  # paper: 3
    epoch: int = 3  # paper: 3
    bucket: int = 200_000  # hashed n-gram buckets; fastText's default (2M) at paper scale
    seed: int = 0


def fasttext_line(text: str) -> str:
    """One page as a fastText input line: lowercased, newlines and tabs folded into single spaces.

    >>> fasttext_line("Solve\\n $x+1=2$\\tnow")
    'solve $x+1=2$ now'
    """
    return " ".join(text.lower().split())


def write_training_file(path: Path, positives: Sequence[str], negatives: Sequence[str], seed: int = 0) -> int:
    """A shuffled fastText training file, one `__label__X text` per line; returns the line count."""
    rows = [f"{MATH_LABEL} {fasttext_line(t)}" for t in positives]
    rows += [f"{OTHER_LABEL} {fasttext_line(t)}" for t in negatives]
    random.Random(seed).shuffle(rows)
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return len(rows)


def train_classifier(positives: Sequence[str], negatives: Sequence[str], workdir: str | Path,
                     params: FastTextParams = FastTextParams(), name: str = "classifier") -> Path:
    """Train and save a fastText model in `workdir` (training file beside it); returns the .bin path."""
    import fasttext

    if not positives or not negatives:
        raise ValueError(f"classifier {name}: needs positives and negatives, got {len(positives)} and {len(negatives)}")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    train_file = workdir / f"{name}.train.txt"
    write_training_file(train_file, positives, negatives, params.seed)
    model = fasttext.train_supervised(
        input=str(train_file), dim=params.dim, lr=params.lr, wordNgrams=params.word_ngrams,
        minCount=params.min_count, epoch=params.epoch, bucket=params.bucket, seed=params.seed,
        thread=1, verbose=0,
    )
    model_path = workdir / f"{name}.bin"
    model.save_model(str(model_path))
    return model_path


class MathClassifier:
    """P(math | text) from a saved fastText model; the model loads on first use (picklable before that)."""

    def __init__(self, model_path: str | Path):
        self.model_path = str(model_path)
        self._model = None

    def __getstate__(self):
        return {"model_path": self.model_path, "_model": None}

    def _load(self):
        if self._model is None:
            import fasttext

            self._model = fasttext.load_model(self.model_path)
        return self._model

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probability of the math label for each text, shape (len(texts),)."""
        if not texts:
            return np.zeros(0)
        labels, probs = self._load().predict([fasttext_line(t) for t in texts], k=2)
        out = np.empty(len(texts))
        for i, (ls, ps) in enumerate(zip(labels, probs)):
            scores = dict(zip(ls, ps))
            out[i] = min(1.0, max(0.0, float(scores.get(MATH_LABEL, 1.0 - scores.get(OTHER_LABEL, 1.0)))))
        return out
