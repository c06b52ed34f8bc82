"""The docstring examples of the crawl, reader and corpus modules run and hold."""

import doctest
import importlib

import pytest

MODULES = ["dsmath_lib.synth.crawl", "dsmath_lib.webdata", "dsmath_lib.corpus.annotation",
           "dsmath_lib.corpus.classifier", "dsmath_lib.corpus.decontamination", "dsmath_lib.corpus.dedup",
           "dsmath_lib.corpus.miner"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
