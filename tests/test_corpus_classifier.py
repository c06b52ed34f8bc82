"""fastText classifier: learns seed vs pool, single-line inputs, picklable before loading, deterministic."""

import pickle
import random

import numpy as np
import pytest

from dsmath_lib.corpus.classifier import FastTextParams, MathClassifier, fasttext_line, train_classifier
from dsmath_lib.synth.crawl import exposition_page, prose_page

PARAMS = FastTextParams(dim=16, epoch=10, bucket=20_000)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    rng = random.Random(0)
    pos = [exposition_page(rng, "fractions") for _ in range(150)]
    neg = [prose_page(rng) for _ in range(150)]
    return train_classifier(pos, neg, tmp_path_factory.mktemp("ft"), PARAMS)


def test_fasttext_line_is_single_line():
    assert fasttext_line("A\nB\r\n\tC") == "a b c"


def test_classifier_ranks_math_above_prose(model_path):
    rng = random.Random(99)
    probs = MathClassifier(model_path).predict_proba(
        [exposition_page(rng, "areas") for _ in range(20)] + [prose_page(rng) for _ in range(20)])
    assert probs.shape == (40,) and np.all((probs >= 0) & (probs <= 1))
    assert probs[:20].min() > probs[20:].max()


def test_classifier_pickles_as_a_path_and_loads_lazily(model_path):
    clf = MathClassifier(model_path)
    clf.predict_proba(["x"])
    clone = pickle.loads(pickle.dumps(clf))
    assert clone._model is None and clone.model_path == str(model_path)
    assert np.allclose(clone.predict_proba(["Solve $x + 1 = 2$"]), clf.predict_proba(["Solve $x + 1 = 2$"]))


def test_training_is_deterministic(tmp_path):
    rng = random.Random(0)
    pos, neg = [exposition_page(rng, "fractions") for _ in range(40)], [prose_page(rng) for _ in range(40)]
    a = MathClassifier(train_classifier(pos, neg, tmp_path / "a", PARAMS)).predict_proba(neg[:5] + pos[:5])
    b = MathClassifier(train_classifier(pos, neg, tmp_path / "b", PARAMS)).predict_proba(neg[:5] + pos[:5])
    assert np.array_equal(a, b)


def test_empty_training_side_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="needs positives and negatives"):
        train_classifier(["a"], [], tmp_path)
