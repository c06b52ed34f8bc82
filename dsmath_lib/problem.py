"""The one record every benchmark and training set uses: a math problem with its solutions, and its answer format.

    from dsmath_lib.problem import Problem, last_boxed
    Problem.from_dict(json.loads(line))        # a record written by Problem.to_json
    last_boxed(solution)                       # the final answer of a MATH-like solution, '\\boxed{...}'

Synthetic problems (dsmath_lib.synth), GSM8K and MATH (dsmath_lib.data) all become `Problem`, so grading,
prompting and training never care where a problem came from. `last_boxed` reads the boxed answer a LaTeX
solution ends with; loaders (data), SFT (sft.examples) and grading (eval.grading) all read it here.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from typing import Literal

AnswerKind = Literal["numeric", "latex"]


@dataclass(frozen=True)
class Problem:
    """A math problem.

    id: unique within its benchmark, stable across runs (e.g. "synth-gsm/test/17", "gsm8k/test/3").
    benchmark: "synth-gsm", "synth-math", "gsm8k", "math", ...
    question: the problem text shown to the model.
    solution: step-by-step chain-of-thought, one step per line, ending with the final answer
        ("The answer is 42." for numeric problems, "\\boxed{...}" for LaTeX ones).
    answer: the gold final answer as a string ("42", "\\frac{3}{4}").
    answer_kind: "numeric" (GSM8K-like) or "latex" (MATH-like).
    program: a Python program that prints the answer (program-of-thought), or None when the source has none.
    level: difficulty (1 = easiest), or None.
    subject: family / subject name ("arithmetic", "fractions", "Algebra", ...), or None.
    """

    id: str
    benchmark: str
    question: str
    solution: str
    answer: str
    answer_kind: AnswerKind
    program: str | None = None
    level: int | None = None
    subject: str | None = None

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False)

    @classmethod
    def from_dict(cls, d: dict) -> "Problem":
        return cls(**d)


def last_boxed(text: str) -> str | None:
    """Content of the last complete \\boxed{...} (or \\fbox{...}) in `text`, nested braces allowed.

    >>> last_boxed("a \\\\boxed{1} b \\\\boxed{\\\\frac{1}{2}}")
    '\\\\frac{1}{2}'
    """
    for match in reversed(list(re.finditer(r"\\(?:boxed|fbox)\s*(\{)?", text))):
        if match.group(1) is None:  # "\boxed 5": the answer is the next token
            token = re.match(r"\s*([^\s$.,]+)", text[match.end():])
            if token:
                return token.group(1)
            continue
        depth, start = 1, match.end()
        for i in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                return text[start:i].strip()
    return None
