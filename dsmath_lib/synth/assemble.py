"""Turn a generated problem's parts into a `Problem`: solution lines, the final answer line, LaTeX numbers.

Every generator in dsmath_lib.synth builds a question, a list of solution steps, a program and an answer,
then calls `assemble`, so all synthetic problems share one shape:

    solution = step 1 \\n step 2 \\n ... \\n "The answer is 42."              (numeric, synth-gsm)
    solution = step 1 \\n ... \\n "The answer is \\boxed{\\frac{3}{4}}."        (LaTeX, synth-math)

`run_program` executes a generated program in this process and returns what it printed; it exists for
the generator's own self-check and for tests. These programs are ours, not model-written: model-written
code goes through the sandbox in dsmath_lib.eval, never through this function.
"""

from __future__ import annotations

import contextlib
import io
from fractions import Fraction

from dsmath_lib.problem import AnswerKind, Problem


def answer_line(answer: str, kind: AnswerKind) -> str:
    """The last line of every solution.

    >>> answer_line("42", "numeric")
    'The answer is 42.'
    >>> answer_line("\\\\frac{3}{4}", "latex")
    'The answer is \\\\boxed{\\\\frac{3}{4}}.'
    """
    return f"The answer is {answer}." if kind == "numeric" else f"The answer is \\boxed{{{answer}}}."


def assemble(benchmark: str, subject: str, level: int, question: str, steps: list[str], answer: str,
             program: list[str], kind: AnswerKind) -> Problem:
    """A draft Problem; `generate_world` later gives it its split id (the draft id names family and level).

    >>> p = assemble("synth-gsm", "toys", 1, "Q?", ["2 + 3 = 5"], "5", ["print(2 + 3)"], "numeric")
    >>> p.id, p.solution.splitlines()
    ('synth-gsm/toys/level1', ['2 + 3 = 5', 'The answer is 5.'])
    """
    if any("\n" in step for step in steps):
        raise ValueError(f"{benchmark}/{subject}: a solution step spans two lines: {steps!r}")
    return Problem(
        id=f"{benchmark}/{subject}/level{level}",
        benchmark=benchmark,
        question=question,
        solution="\n".join([*steps, answer_line(answer, kind)]),
        answer=answer,
        answer_kind=kind,
        program="\n".join(program) + "\n",
        level=level,
        subject=subject,
    )


def latex_number(q: Fraction | int) -> str:
    """A rational as MATH writes answers: an integer, or a reduced \\frac with the sign in front.

    >>> latex_number(Fraction(-6, 8)), latex_number(Fraction(4, 2)), latex_number(7)
    ('-\\\\frac{3}{4}', '2', '7')
    """
    q = Fraction(q)
    sign = "-" if q < 0 else ""
    q = abs(q)
    body = str(q.numerator) if q.denominator == 1 else f"\\frac{{{q.numerator}}}{{{q.denominator}}}"
    return sign + body


# The program lines that print a Fraction `r` exactly as `latex_number` writes it; kept in one place so
# the programs and the gold answers cannot drift apart.
PRINT_FRACTION = [
    'sign = "-" if r < 0 else ""',
    "r = abs(r)",
    'body = str(r.numerator) if r.denominator == 1 else "\\\\frac{%d}{%d}" % (r.numerator, r.denominator)',
    "print(sign + body)",
]


def run_program(program: str) -> str:
    """Execute one of our generated programs and return its stdout without the trailing newline.

    >>> run_program("print(6 * 7)\\n")
    '42'
    """
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(program, "<synth program>", "exec"), {"__name__": "__synth__"})
    return out.getvalue().rstrip("\n")
