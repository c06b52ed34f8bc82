"""Train/test overlap of questions by exact match and shared word n-grams, as the paper decontaminates (§2.1).

    from dsmath_lib.synth.overlap import OverlapIndex, check_disjoint
    index = OverlapIndex(test_problems, n=10)
    index.find("some train question")     # None, or a description of the test problem it overlaps
    check_disjoint(train, test, n=10)      # raises ValueError naming both problems and the shared words

Words: the question lowercased, split on whitespace, punctuation stripped from both ends of each word
(so "$19$." and "19" are the same word), empty words dropped. Numbers are kept as words, and a formula
written without spaces ("$3x+4=19$") is one word. A test question overlaps a train question when
- their word sequences are equal, or
- they share an n-gram (n consecutive words), or
- the test question has fewer than n words and its whole word sequence appears inside the train question
  (the paper's rule for benchmark texts shorter than 10 grams).

Why this definition holds honestly for templated problems: the generators put a varying word (a name, a
number, an object, a formula) within every few words, so two different problems share a 10-word window
only when they share all the varying words in it, which is rare; generate_world still rejects any train
candidate that overlaps the test set and counts those rejections (World.stats), and check_disjoint is run
on the result in the tests.
"""

from __future__ import annotations

import string
from typing import Iterable

from dsmath_lib.problem import Problem


def words(text: str) -> list[str]:
    """The question's words for overlap checks.

    >>> words("Mia has $12. She buys 7 more?")
    ['mia', 'has', '12', 'she', 'buys', '7', 'more']
    >>> words("Solve for $x$: $3x+4=19$.")
    ['solve', 'for', 'x', '3x+4=19']
    """
    out = (w.strip(string.punctuation) for w in text.lower().split())
    return [w for w in out if w]


def ngrams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    """All windows of n consecutive tokens (none when there are fewer than n).

    >>> ngrams(["a", "b", "c"], 2)
    [('a', 'b'), ('b', 'c')]
    """
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


class OverlapIndex:
    """The test questions, indexed so that a candidate train question is checked in one pass.

    >>> test = [Problem("t/0", "b", "Mia has 12 red apples and 7 green apples in a big bag.", "", "19", "numeric")]
    >>> index = OverlapIndex(test, n=10)
    >>> index.find("Tom has 12 red apples and 7 green apples in a big bag today.")
    "shares the 10-gram 'has 12 red apples and 7 green apples in a' with test problem t/0"
    >>> index.find("Tom has 12 red apples and 8 green apples in a big bag today.") is None
    True
    """

    def __init__(self, test: Iterable[Problem], n: int = 10):
        self.n = n
        self.exact: dict[tuple[str, ...], str] = {}
        self.grams: dict[tuple[str, ...], str] = {}
        self.short: dict[int, dict[tuple[str, ...], str]] = {}  # word count -> short question -> test id
        for p in test:
            tokens = tuple(words(p.question))
            self.exact.setdefault(tokens, p.id)
            if len(tokens) < n:
                self.short.setdefault(len(tokens), {}).setdefault(tokens, p.id)
            for gram in ngrams(list(tokens), n):
                self.grams.setdefault(gram, p.id)

    def find(self, question: str) -> str | None:
        """How `question` overlaps the indexed test set, or None when it does not."""
        tokens = words(question)
        if tuple(tokens) in self.exact:
            return f"is exactly test problem {self.exact[tuple(tokens)]}"
        for gram in ngrams(tokens, self.n):
            if gram in self.grams:
                return f"shares the {self.n}-gram {' '.join(gram)!r} with test problem {self.grams[gram]}"
        for length, table in self.short.items():
            for gram in ngrams(tokens, length):
                if gram in table:
                    return f"contains the whole of short test problem {table[gram]} ({' '.join(gram)!r})"
        return None


def check_disjoint(train: Iterable[Problem], test: Iterable[Problem], n: int = 10) -> None:
    """Raise ValueError if any test question appears in train exactly or shares an n-gram with a train question.

    >>> a = Problem("train/0", "b", "What is the remainder when 47 is divided by 5?", "", "2", "numeric")
    >>> b = Problem("test/0", "b", "What is the remainder when 48 is divided by 5?", "", "3", "numeric")
    >>> check_disjoint([a], [b])
    >>> check_disjoint([a], [a])
    Traceback (most recent call last):
    ...
    ValueError: check_disjoint: train problem train/0 is exactly test problem train/0
    """
    index = OverlapIndex(test, n)
    for p in train:
        hit = index.find(p.question)
        if hit:
            raise ValueError(f"check_disjoint: train problem {p.id} {hit}")
