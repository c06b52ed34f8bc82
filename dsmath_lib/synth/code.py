"""The embedded code world: a HumanEval-like benchmark ("synth-code") and a corpus of Python files.

    from dsmath_lib.synth.code import code_benchmark, code_corpus, write_code_world, read_code_tasks
    tasks = code_benchmark(seed=0, n=200)                # CodeTask: prompt, entry_point, tests, solution
    corpus = code_corpus(seed=0, n_files=2000, test=tasks)  # Python files, none overlapping a task
    files = write_code_world(folder, tasks, corpus)      # test/synth-code.jsonl, code_corpus.jsonl
    read_code_tasks(files["synth-code"]) == tasks

A task is a short function to complete, HumanEval style: the prompt is `def name(args):` and a docstring
saying what to compute with one `>>>` example; the model writes the indented body (1-6 lines); `tests`
holds `assert` lines that call it (dsmath_lib.eval.code runs them in the sandbox). Twelve families, three
per level: 1 one-line arithmetic on ints (affine, two_args, div_mod), 2 a conditional (threshold,
divisible, compare), 3 a loop (sum_if over a list, map_list, range_total), 4 strings and two loops
(count_char, build_string, pair_count). Function, argument and variable names, constants, the form of
the expression and the docstring's wording are all drawn at random, so the space is large.

Determinism and balance, as in world.py: the test split has its own random.Random stream seeded by
"dsmath-synth:<seed>:synth-code:test", the corpus by "...:synth-code:train"; task i comes from family
i mod 12 in an order where levels vary fastest, and a rejected candidate is redrawn from the same family.
Expected values (the `>>>` line, the asserts) come from running the reference function with
assemble.run_program (our code, not model code); a candidate whose tests would not tell bodies apart
(fewer than 3 distinct results) is redrawn.

Overlap (what the corpus must not contain, like overlap.py for math questions). A function overlaps a task
when
- its prompt (the def line and docstring) equals the task's prompt, or
- its code equals the task's once every name (function, arguments, variables) is replaced by a
  placeholder in order of first use: the same computation with the same constants, whatever it is called
  (stricter than equal bodies), or
- it has the task's signature (function name, literal constants in order): the same name with the same
  numbers and strings, whatever the wording or the form of the expression.
The benchmark skips a candidate that overlaps an earlier task (this covers exact duplicates); the corpus
rejects and redraws every function that overlaps a test task; `check_code_disjoint` checks a finished
corpus by parsing every function in it.

Departures from the paper at small scale: HumanEval and MBPP are hand-written tasks and the paper's code
corpus is GitHub; here both are generated, the functions are far shorter (tiny models of 1-10M parameters
must learn some of them from ~1M tokens), and a task is "unseen" only in the sense above: the corpus
teaches the same families with other names and constants, as GitHub teaches what HumanEval asks. A
quarter of the files are plain scripts (chains of assignments, loops that print), the kind of program
that program-of-thought solutions are.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import json
import logging
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from tqdm.auto import tqdm

from dsmath_lib.synth.assemble import run_program
from dsmath_lib.synth.export import _write_jsonl

log = logging.getLogger(__name__)

BENCHMARK = "synth-code"
SCRIPT_SHARE = 0.25  # share of corpus files that are plain scripts (PoT-like), not modules of functions
N_TESTS = 4  # assert lines per task, on inputs other than the docstring example


@dataclass(frozen=True)
class CodeTask:
    """A function-writing task: complete `prompt` with a body that passes `tests`.

    id: "synth-code/test/17"; prompt: `def ...:` and docstring, ending with a newline; entry_point: the
    function's name; tests: `assert` lines calling it; solution: the reference body (indented lines);
    level: 1-4; family: the generator's name ("affine", "pair_count", ...).
    """

    id: str
    prompt: str
    entry_point: str
    tests: str
    solution: str
    level: int
    family: str

    @property
    def source(self) -> str:
        """The whole reference function."""
        return self.prompt + self.solution

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False)

    @classmethod
    def from_dict(cls, d: dict) -> "CodeTask":
        names = {f.name for f in dataclasses.fields(cls)}
        if set(d) != names:
            raise KeyError(f"expected keys {sorted(names)}, got {sorted(d)}")
        return cls(**d)


@dataclass
class Spec:
    """A drawn function before its expected values are known: `calls[0]` is the docstring example."""

    name: str
    args: list[str]
    doc: str
    body: list[str]  # lines relative to the body's indentation
    calls: list[tuple]


# ------------------------------------------------------------------------------------------ vocabulary
NOUNS = ("value", "score", "number", "price", "reading", "amount", "level", "size", "total", "weight", "cost",
         "points", "steps", "height", "budget", "stock", "rate", "balance")
INT_ARGS = ("n", "x", "value", "num", "k", "m", "amount", "qty", "score")
PAIRS = (("a", "b"), ("x", "y"), ("m", "n"), ("first", "second"), ("left", "right"), ("p", "q"), ("u", "v"))
LIST_ARGS = ("xs", "nums", "values", "items", "numbers", "data", "scores", "prices")
ITEM_VARS = ("v", "x", "item", "num", "e")
ACC_VARS = ("total", "result", "acc", "out", "count")
STR_ARGS = ("s", "text", "word", "line", "name", "label")
CHAR_VARS = ("ch", "c", "letter", "char")
LETTERS = "abcdeilmnorstu"
OP_WORDS = {"+": "plus", "-": "minus", "*": "times"}


def _name(rng: random.Random, verbs: tuple[str, ...]) -> str:
    return f"{rng.choice(verbs)}_{rng.choice(NOUNS)}"


def _distinct(rng: random.Random, draw: Callable[[], tuple], k: int = N_TESTS + 1) -> list[tuple]:
    """k different argument tuples from `draw` (the example first, then the tests' inputs)."""
    seen: list[tuple] = []
    while len(seen) < k:
        call = draw()
        if call not in seen:
            seen.append(call)
    return seen


def _ints(rng: random.Random, lo: int, hi: int, size: int = 1) -> Callable[[], tuple]:
    return lambda: tuple(rng.randint(lo, hi) for _ in range(size))


def _int_list(rng: random.Random, hi: int = 20) -> Callable[[], tuple]:
    return lambda: ([rng.randint(0, hi) for _ in range(rng.randint(3, 7))],)


def _word(rng: random.Random, letter: str) -> Callable[[], tuple]:
    """Strings over `letter` and 4 other letters, so that the letter a task names turns up in its tests."""
    alphabet = letter + "".join(rng.sample(LETTERS.replace(letter, ""), 4))
    return lambda: ("".join(rng.choice(alphabet) for _ in range(rng.randint(3, 9))),)


# ------------------------------------------------------------------------------- level 1: one-line arithmetic
def affine(rng: random.Random) -> Spec:
    """x * a + b and its kin on one int."""
    x, a, b = rng.choice(INT_ARGS), rng.randint(2, 12), rng.randint(1, 20)
    expr, docs = rng.choice([
        (f"{x} * {a} + {b}", [f"Return {x} times {a} plus {b}.", f"Multiply {x} by {a}, then add {b}."]),
        (f"{x} * {a} - {b}", [f"Return {x} times {a} minus {b}.", f"Multiply {x} by {a}, then subtract {b}."]),
        (f"({x} + {b}) * {a}", [f"Return {x} plus {b}, times {a}.", f"Add {b} to {x}, then multiply by {a}."]),
        (f"({x} - {b}) * {a}", [f"Return {x} minus {b}, times {a}.", f"Subtract {b} from {x}, then multiply by {a}."]),
    ])
    return Spec(_name(rng, ("scale", "shift", "adjust", "transform", "convert", "boost", "rescale", "update")),
                [x], rng.choice(docs), [f"return {expr}"], _distinct(rng, _ints(rng, 0, 30)))


def two_args(rng: random.Random) -> Spec:
    """A one-line combination of two ints and one or two constants."""
    (x, y), a, b = rng.choice(PAIRS), rng.randint(2, 12), rng.randint(1, 20)
    expr, docs = rng.choice([
        (f"{x} * {a} + {y} * {b}", [f"Return {x} times {a} plus {y} times {b}.", f"Add {x} * {a} and {y} * {b}."]),
        (f"({x} + {y}) * {a} + {b}", [f"Return the sum of {x} and {y}, times {a}, plus {b}.",
                                      f"Add {x} and {y}, multiply by {a}, then add {b}."]),
        (f"{x} * {y} + {b}", [f"Return the product of {x} and {y}, plus {b}.", f"Multiply {x} by {y} and add {b}."]),
        (f"{x} * {y} - {b}", [f"Return the product of {x} and {y}, minus {b}.",
                              f"Multiply {x} by {y} and subtract {b}."]),
        (f"({x} - {y}) * {a}", [f"Return {x} minus {y}, times {a}.", f"Subtract {y} from {x}, then multiply by {a}."]),
    ])
    return Spec(_name(rng, ("combine", "mix", "merge", "blend", "pair", "join")), [x, y], rng.choice(docs),
                [f"return {expr}"], _distinct(rng, _ints(rng, 0, 20, 2)))


def div_mod(rng: random.Random) -> Spec:
    """Floor division and remainder by a constant."""
    x, a, b = rng.choice(INT_ARGS), rng.randint(2, 12), rng.randint(2, 20)
    expr, docs = rng.choice([
        (f"{x} // {a}", [f"Return {x} divided by {a}, rounded down.", f"How many whole groups of {a} fit in {x}."]),
        (f"{x} % {a}", [f"Return the remainder when {x} is divided by {a}.", f"Return {x} modulo {a}."]),
        (f"{x} // {a} + {b}", [f"Return {x} divided by {a} (rounded down), plus {b}."]),
        (f"{x} % {a} * {b}", [f"Return the remainder of {x} divided by {a}, times {b}."]),
        (f"{x} // {a} * {a}", [f"Round {x} down to a multiple of {a}.",
                               f"Return the largest multiple of {a} up to {x}."]),
    ])
    return Spec(_name(rng, ("split", "bucket", "chunk", "fold", "wrap", "reduce")), [x], rng.choice(docs),
                [f"return {expr}"], _distinct(rng, _ints(rng, 0, 60)))


# ------------------------------------------------------------------------------------- level 2: a conditional
def threshold(rng: random.Random) -> Spec:
    """One branch on a comparison with a constant."""
    x, a, b, c = rng.choice(INT_ARGS), rng.randint(5, 20), rng.randint(1, 9), rng.randint(1, 9)
    cmp, word = rng.choice([(">", "greater than"), ("<", "less than"), (">=", "at least")])
    op1, op2 = rng.choice("+-*"), rng.choice("+-*")
    then, other = f"{x} {OP_WORDS[op1]} {b}", f"{x} {OP_WORDS[op2]} {c}"
    doc = rng.choice([f"If {x} is {word} {a}, return {then}; otherwise return {other}.",
                      f"Return {then} when {x} is {word} {a}, else {other}."])
    body = [f"if {x} {cmp} {a}:", f"    return {x} {op1} {b}", f"return {x} {op2} {c}"]
    return Spec(_name(rng, ("clamp", "check", "limit", "grade", "cap", "judge")), [x], doc, body,
                _distinct(rng, _ints(rng, max(0, a - 10), a + 10)))


def divisible(rng: random.Random) -> Spec:
    """A branch on divisibility."""
    x, a, b = rng.choice(INT_ARGS), rng.randint(2, 9), rng.randint(1, 20)
    op = rng.choice("+-*")
    cond = "even" if a == 2 else f"divisible by {a}"
    doc = rng.choice([f"If {x} is {cond}, return {x} divided by {a}; otherwise return {x} {OP_WORDS[op]} {b}.",
                      f"Return {x} // {a} when {x} is {cond}, else {x} {OP_WORDS[op]} {b}."])
    body = [f"if {x} % {a} == 0:", f"    return {x} // {a}", f"return {x} {op} {b}"]
    return Spec(_name(rng, ("halve", "step", "reduce", "collapse", "shrink", "next")), [x], doc, body,
                _distinct(rng, _ints(rng, 0, 40)))


def compare(rng: random.Random) -> Spec:
    """The larger, the smaller or the distance of two ints, then an operation with a constant."""
    (x, y), a, op = rng.choice(PAIRS), rng.randint(1, 30), rng.choice("+-*")
    kind = rng.choice(["larger", "smaller", "distance"])
    if kind == "distance":
        doc = f"Return the distance between {x} and {y}, {OP_WORDS[op]} {a}."
        body = [f"if {x} > {y}:", f"    return ({x} - {y}) {op} {a}", f"return ({y} - {x}) {op} {a}"]
    else:
        cmp = ">" if kind == "larger" else "<"
        doc = rng.choice([f"Return the {kind} of {x} and {y}, {OP_WORDS[op]} {a}.",
                          f"Take the {kind} of {x} and {y} and return it {OP_WORDS[op]} {a}."])
        body = [f"if {x} {cmp} {y}:", f"    return {x} {op} {a}", f"return {y} {op} {a}"]
    return Spec(_name(rng, ("pick", "choose", "select", "compare", "best", "gap")), [x, y], doc, body,
                _distinct(rng, _ints(rng, 0, 20, 2)))


# ----------------------------------------------------------------------------------------- level 3: a loop
_CONDITIONS = [("{v} > {a}", "greater than {a}"), ("{v} < {a}", "less than {a}"),
               ("{v} % {a} == 0", "divisible by {a}"), ("{v} % 2 == 1", "odd"), ("{v} % 2 == 0", "even")]


def sum_if(rng: random.Random) -> Spec:
    """Sum, count or weighted sum of the list items meeting a condition."""
    xs, v, t = rng.choice(LIST_ARGS), rng.choice(ITEM_VARS), rng.choice(ACC_VARS)
    a, b = rng.randint(3, 12), rng.randint(2, 9)
    cond, word = (s.format(v=v, a=a) for s in rng.choice(_CONDITIONS))
    term, doc = rng.choice([(v, f"Return the sum of the numbers in {xs} that are {word}."),
                            ("1", f"Count the numbers in {xs} that are {word}."),
                            (f"{v} * {b}", f"Return the sum of {b} times each number in {xs} that is {word}.")])
    body = [f"{t} = 0", f"for {v} in {xs}:", f"    if {cond}:", f"        {t} += {term}", f"return {t}"]
    return Spec(_name(rng, ("sum", "tally", "count", "gather", "collect", "add")), [xs], doc, body,
                _distinct(rng, _int_list(rng)))


def map_list(rng: random.Random) -> Spec:
    """A new list with an arithmetic map applied to every item."""
    xs, v, r = rng.choice(LIST_ARGS), rng.choice(ITEM_VARS), rng.choice(("result", "out", "mapped", "new"))
    a, b = rng.randint(2, 12), rng.randint(1, 20)
    expr, what = rng.choice([(f"{v} * {a} + {b}", f"multiplied by {a} plus {b}"), (f"{v} + {a}", f"plus {a}"),
                             (f"{v} * {a}", f"times {a}"), (f"{v} - {a}", f"minus {a}"),
                             (f"{v} % {a}", f"modulo {a}")])
    doc = rng.choice([f"Return a new list with each number in {xs} {what}.",
                      f"Return the numbers of {xs}, each {what}, in order."])
    body = [f"{r} = []", f"for {v} in {xs}:", f"    {r}.append({expr})", f"return {r}"]
    return Spec(_name(rng, ("map", "apply", "convert", "scale", "shift", "transform")), [xs], doc, body,
                _distinct(rng, _int_list(rng)))


def range_total(rng: random.Random) -> Spec:
    """A running total or product over 1..n."""
    n, i, t = rng.choice(("n", "k", "m", "steps", "rounds")), rng.choice(("i", "j", "step")), rng.choice(ACC_VARS)
    a, b = rng.randint(2, 12), rng.randint(1, 20)
    start, update, doc = rng.choice([
        ("0", f"{t} += {i} * {a}", f"Return the sum of {a} * i for i from 1 to {n}."),
        ("0", f"{t} += {i} + {a}", f"Return the sum of i + {a} for i from 1 to {n}."),
        ("0", f"{t} += {i} * {i} * {a}", f"Return the sum of {a} * i * i for i from 1 to {n}."),
        (str(b), f"{t} += {a}", f"Start at {b} and add {a}, {n} times."),
        ("1", f"{t} *= {a}", f"Return {a} to the power {n} by multiplying {n} times."),
    ])
    body = [f"{t} = {start}", f"for {i} in range(1, {n} + 1):", f"    {update}", f"return {t}"]
    return Spec(_name(rng, ("accumulate", "run", "series", "grow", "repeat", "build")), [n], doc, body,
                _distinct(rng, _ints(rng, 0, 9)))


# ------------------------------------------------------------------------------ level 4: strings, two loops
def count_char(rng: random.Random) -> Spec:
    """Count (or score) the characters of a string that meet a condition."""
    s, ch, t = rng.choice(STR_ARGS), rng.choice(CHAR_VARS), rng.choice(ACC_VARS)
    letter, a = rng.choice(LETTERS), rng.randint(2, 9)
    cond, word = rng.choice([(f"{ch} == '{letter}'", f"the letter '{letter}'"), (f"{ch} in 'aeiou'", "vowels"),
                             (f"{ch} != '{letter}'", f"letters other than '{letter}'")])
    step, doc = rng.choice([("1", f"Count the {word} in {s}."),
                            (str(a), f"Score {a} points for each of the {word} in {s}.")])
    body = [f"{t} = 0", f"for {ch} in {s}:", f"    if {cond}:", f"        {t} += {step}", f"return {t}"]
    return Spec(_name(rng, ("count", "score", "tally", "measure", "rate", "check")), [s], doc, body,
                _distinct(rng, _word(rng, letter)))


def build_string(rng: random.Random) -> Spec:
    """A new string built character by character."""
    s, ch, r = rng.choice(STR_ARGS), rng.choice(CHAR_VARS), rng.choice(("result", "out", "new", "acc"))
    old, new = rng.sample(LETTERS, 2)
    a = rng.randint(2, 5)
    loop, doc = rng.choice([
        ([f"    {r} += {ch} * {a}"], f"Return {s} with every character repeated {a} times."),
        ([f"    {r} += {ch} * {a} if {ch} == '{old}' else {ch}"], f"Return {s} with every '{old}' repeated {a} times."),
        ([f"    {r} += '{new}' if {ch} == '{old}' else {ch}"], f"Return {s} with every '{old}' replaced by '{new}'."),
        ([f"    if {ch} != '{old}':", f"        {r} += {ch}"], f"Return {s} without the letter '{old}'."),
    ])
    body = [f"{r} = ''", f"for {ch} in {s}:", *loop, f"return {r}"]
    return Spec(_name(rng, ("make", "build", "rewrite", "encode", "clean", "format")), [s], doc, body,
                _distinct(rng, _word(rng, old)))


def pair_count(rng: random.Random) -> Spec:
    """Two nested loops over the pairs of a list."""
    xs, t, a = rng.choice(LIST_ARGS), rng.choice(ACC_VARS), rng.randint(3, 20)
    cond, word = rng.choice([(f"{xs}[i] + {xs}[j] == {a}", f"add up to {a}"),
                             (f"{xs}[i] + {xs}[j] > {a}", f"add up to more than {a}"),
                             (f"{xs}[i] + {xs}[j] < {a}", f"add up to less than {a}"),
                             (f"{xs}[i] * {xs}[j] > {a}", f"multiply to more than {a}"),
                             (f"{xs}[i] * {xs}[j] < {a}", f"multiply to less than {a}"),
                             (f"{xs}[j] - {xs}[i] == {a}", f"grow by exactly {a} from the first to the second")])
    doc = rng.choice([f"Count the pairs of positions i < j whose numbers in {xs} {word}.",
                      f"How many pairs of items of {xs}, in list order, {word}."])
    body = [f"{t} = 0", f"for i in range(len({xs})):", f"    for j in range(i + 1, len({xs})):",
            f"        if {cond}:", f"            {t} += 1", f"return {t}"]
    return Spec(_name(rng, ("count", "pairs", "match", "find", "scan", "search")), [xs], doc, body,
                _distinct(rng, lambda: ([rng.randint(0, 12) for _ in range(rng.randint(3, 7))],)))


# (family, level) in the order cells are drawn: levels vary fastest, so any prefix is balanced over levels
FAMILIES: dict[str, tuple[Callable[[random.Random], Spec], int]] = {
    "affine": (affine, 1), "threshold": (threshold, 2), "sum_if": (sum_if, 3), "count_char": (count_char, 4),
    "two_args": (two_args, 1), "divisible": (divisible, 2), "map_list": (map_list, 3),
    "build_string": (build_string, 4), "div_mod": (div_mod, 1), "compare": (compare, 2),
    "range_total": (range_total, 3), "pair_count": (pair_count, 4),
}



# ------------------------------------------------------------------------------------------------ tasks
def _call(name: str, args: tuple) -> str:
    return f"{name}({', '.join(repr(a) for a in args)})"


def make_task(spec: Spec, family: str, level: int) -> CodeTask | None:
    """The task for a drawn spec (id left empty), or None when its tests would not tell bodies apart
    (fewer than 3 distinct expected values: a constant body would pass too many of them).

    >>> spec = Spec("scale_value", ["n"], "Return n times 3 plus 7.", ["return n * 3 + 7"],
    ...             [(2,), (0,), (1,), (5,), (10,)])
    >>> task = make_task(spec, "affine", 1)
    >>> task.prompt.splitlines()
    ['def scale_value(n):', '    \"\"\"Return n times 3 plus 7.', '    >>> scale_value(2)', '    13', '    \"\"\"']
    >>> task.solution, task.tests.splitlines()[:2]
    ('    return n * 3 + 7\\n', ['assert scale_value(0) == 7', 'assert scale_value(1) == 10'])
    """
    header = f"def {spec.name}({', '.join(spec.args)}):\n"
    solution = "".join(f"    {line}\n" for line in spec.body)
    calls = [_call(spec.name, args) for args in spec.calls]
    # our own reference function, run in-process like the math world's programs (assemble.run_program)
    values = run_program(header + solution + "".join(f"print(repr({c}))\n" for c in calls)).split("\n")
    if len(set(values[1:])) < 3:
        return None
    prompt = f'{header}    """{spec.doc}\n    >>> {calls[0]}\n    {values[0]}\n    """\n'
    tests = "".join(f"assert {c} == {v}\n" for c, v in zip(calls[1:], values[1:]))
    return CodeTask("", prompt, spec.name, tests, solution, level, family)


# ---------------------------------------------------------------------------------------------- overlap
_BUILTINS = frozenset(dir(builtins))


class _Rename(ast.NodeTransformer):
    """Every non-builtin name becomes a placeholder in order of first use."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def _new(self, name: str) -> str:
        return self.names.setdefault(name, f"_{len(self.names)}")

    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.arg = self._new(node.arg)
        return node

    def visit_Name(self, node: ast.Name) -> ast.Name:
        if node.id not in _BUILTINS:
            node.id = self._new(node.id)
        return node


def code_keys(source: str) -> list[tuple]:
    """The overlap keys of one function's source (see the module doc): prompt, renamed code, signature.

    >>> a = code_keys("def f(n):\\n    '''Add 3.'''\\n    return n + 3\\n")
    >>> b = code_keys("def g(x):\\n    '''Plus 3.'''\\n    return x + 3\\n")
    >>> a[1] == b[1], a[2], a[0] == b[0]
    (True, ('signature', 'f', (3,)), False)
    """
    tree = ast.parse(source)
    fn = tree.body[0]
    if not isinstance(fn, ast.FunctionDef):
        raise ValueError(f"code_keys: not a function definition: {source[:60]!r}")
    has_doc = ast.get_docstring(fn) is not None
    body = fn.body[1:] if has_doc else fn.body
    head_end = fn.body[0].end_lineno if has_doc else fn.body[0].lineno - 1
    prompt = "".join(source.splitlines(keepends=True)[fn.lineno - 1:head_end])
    constants = [node for stmt in body for node in ast.walk(stmt) if isinstance(node, ast.Constant)]
    constants.sort(key=lambda node: (node.lineno, node.col_offset))
    signature = ("signature", fn.name, tuple(node.value for node in constants))
    fn.name, fn.body, fn.decorator_list = "f", body, []  # the name is in the signature key, not this one
    return [("prompt", prompt), ("code", ast.unparse(_Rename().visit(fn))), signature]


_HOW = {"prompt": "has the prompt of", "code": "is (up to names) the code of",
        "signature": "has the name and constants of"}


class CodeIndex:
    """Tasks indexed by their overlap keys, so a candidate function is checked in one pass.

    >>> task = CodeTask("t/0", "def f(n):\\n    '''Add 3.'''\\n", "f", "assert f(1) == 4\\n", "    return n + 3\\n",
    ...                 1, "affine")
    >>> CodeIndex([task]).find("def g(x):\\n    '''Plus 3.'''\\n    return x + 3\\n")
    'is (up to names) the code of test task t/0'
    >>> CodeIndex([task]).find("def g(x):\\n    '''Plus 4.'''\\n    return x + 4\\n") is None
    True
    """

    def __init__(self, tasks: Sequence[CodeTask] = ()):
        self.keys: dict[tuple, str] = {}
        for task in tasks:
            self.add(task)

    def add(self, task: CodeTask) -> None:
        for key in code_keys(task.source):
            self.keys.setdefault(key, task.id)

    def find(self, source: str) -> str | None:
        """How the function in `source` overlaps an indexed task, or None when it does not."""
        for key in code_keys(source):
            if key in self.keys:
                return f"{_HOW[key[0]]} test task {self.keys[key]}"
        return None


def function_sources(text: str) -> list[str]:
    """The source of every top-level function in a Python file.

    >>> function_sources("x = 1\\ndef f():\\n    return x\\nprint(f())\\n")
    ['def f():\\n    return x']
    """
    tree = ast.parse(text)
    return [ast.get_source_segment(text, node) for node in tree.body if isinstance(node, ast.FunctionDef)]


def check_code_disjoint(corpus: Sequence[str], tasks: Sequence[CodeTask]) -> None:
    """Raise ValueError naming the file and the task when any corpus function overlaps a task."""
    index = CodeIndex(tasks)
    for i, text in enumerate(corpus):
        for source in function_sources(text):
            hit = index.find(source)
            if hit:
                raise ValueError(f"check_code_disjoint: corpus file {i}, function {source.split('(')[0][4:]}, {hit}")


# ------------------------------------------------------------------------------------------ the splits
def _draw(rng: random.Random, family: str, reject: Callable[[str], str | None], stats: dict[str, int]) -> CodeTask:
    """A task of `family` from `rng`, redrawn until its tests discriminate and `reject` lets it through."""
    make, level = FAMILIES[family]
    for _ in range(1000):
        task = make_task(make(rng), family, level)
        if task is None:
            stats["weak_tests"] = stats.get("weak_tests", 0) + 1
        elif reject(task.source):
            stats["rejected"] = stats.get("rejected", 0) + 1
        else:
            return task
    raise RuntimeError(f"{BENCHMARK}: 1000 candidates of family {family} in a row were redrawn ({stats}): "
                       "the family's space is too small for this many tasks")


def code_benchmark(seed: int, n: int) -> list[CodeTask]:
    """The fixed test split: n tasks balanced over families (and so levels), none overlapping another.

    >>> tasks = code_benchmark(0, 8)
    >>> [(t.family, t.level) for t in tasks[:4]], tasks[5].id
    ([('affine', 1), ('threshold', 2), ('sum_if', 3), ('count_char', 4)], 'synth-code/test/5')
    """
    rng = random.Random(f"dsmath-synth:{seed}:{BENCHMARK}:test")
    index, stats, tasks = CodeIndex(), {}, []
    families = list(FAMILIES)
    for i in tqdm(range(n), desc=f"{BENCHMARK}/test", leave=False, mininterval=1.0):
        task = dataclasses.replace(_draw(rng, families[i % len(families)], index.find, stats),
                                   id=f"{BENCHMARK}/test/{i}")
        index.add(task)
        tasks.append(task)
    return tasks


def code_corpus(seed: int, n_files: int, test: Sequence[CodeTask]) -> list[str]:
    """n_files Python files from the train stream: modules of 2-4 functions with a __main__ block, and
    (a SCRIPT_SHARE of them) plain scripts; no function overlaps a task of `test`.

    >>> files = code_corpus(0, 3, code_benchmark(0, 12))
    >>> len(files), all(compile(f, "<file>", "exec") for f in files)
    (3, True)
    """
    rng = random.Random(f"dsmath-synth:{seed}:{BENCHMARK}:train")
    index, stats, families, drawn = CodeIndex(test), {}, list(FAMILIES), 0
    files = []
    for _ in tqdm(range(n_files), desc=f"{BENCHMARK}/corpus", leave=False, mininterval=1.0):
        if rng.random() < SCRIPT_SHARE:
            files.append(script(rng))
            continue
        functions = []
        for _ in range(rng.randint(2, 4)):
            functions.append(_draw(rng, families[drawn % len(families)], index.find, stats))
            drawn += 1
        files.append(module(rng, functions))
    log.info("code_corpus: %d files, %d functions; redrawn: %s", n_files, drawn, stats)
    return files


# ------------------------------------------------------------------------------------------- the files
def example_call(task: CodeTask) -> str:
    """The call of the docstring's `>>>` example.

    >>> example_call(code_benchmark(0, 1)[0])
    'shift_steps(17)'
    """
    return task.prompt.split(">>> ", 1)[1].split("\n", 1)[0]


def module(rng: random.Random, functions: Sequence[CodeTask]) -> str:
    """Functions one after another, then a __main__ block with one assert or print per function.

    >>> task = code_benchmark(0, 1)[0]
    >>> module(random.Random(0), [task]).endswith(f'if __name__ == "__main__":\\n    print({example_call(task)})\\n')
    True
    """
    main = ['if __name__ == "__main__":']
    for task in functions:
        if rng.random() < 0.5:
            main.append("    " + task.tests.split("\n")[0])
        else:
            main.append(f"    print({example_call(task)})")
    return "\n\n".join(task.source for task in functions) + "\n\n" + "\n".join(main) + "\n"


UNITS = ("apples", "coins", "total", "price", "boxes", "points", "miles", "cookies", "cost", "stock")


def _chain(rng: random.Random) -> list[str]:
    """A running amount through a few operations, printed: the shape of the world's PoT programs."""
    var, value = rng.choice(UNITS), rng.randint(2, 60)
    lines = [f"{var} = {value}"]
    for _ in range(rng.randint(1, 4)):
        op, k = rng.choice("+-*/"), rng.randint(2, 9)
        op = "-" if op == "/" and value % k else op  # keep every value a whole number
        if op == "-" and k >= value:
            op = "+"
        value = {"+": value + k, "-": value - k, "*": value * k, "/": value // k}[op]
        lines.append(f"{var} = {var} {'//' if op == '/' else op} {k}")
    return lines + [f"print({var})"]


def _loop(rng: random.Random) -> list[str]:
    """A loop that prints a table, or accumulates and prints a total."""
    i, n, k = rng.choice(("i", "n", "day")), rng.randint(3, 9), rng.randint(2, 12)
    if rng.random() < 0.5:
        return [f"for {i} in range(1, {n} + 1):", f"    print({i}, {i} * {k})"]
    t = rng.choice(("total", "acc", "result"))
    return [f"{t} = 0", f"for {i} in range(1, {n} + 1):", f"    {t} += {i} * {k}", f"print({t})"]


def _list_stats(rng: random.Random) -> list[str]:
    """A literal list, a loop over it, and a few printed facts."""
    xs, v = rng.choice(LIST_ARGS), rng.choice(ITEM_VARS)
    values = [rng.randint(1, 30) for _ in range(rng.randint(3, 7))]
    return [f"{xs} = {values}", "total = 0", f"for {v} in {xs}:", f"    total += {v}", "print(total)",
            rng.choice([f"print(max({xs}))", f"print(min({xs}))", f"print(total // len({xs}))"])]


def script(rng: random.Random) -> str:
    """A plain script of 1-3 snippets (chains, loops, list facts) that prints arithmetic results.

    >>> print(script(random.Random(1)), end="")
    nums = [16, 25, 15]
    total = 0
    for item in nums:
        total += item
    print(total)
    print(min(nums))
    """
    snippets = [rng.choice((_chain, _loop, _list_stats))(rng) for _ in range(rng.randint(1, 3))]
    return "\n\n".join("\n".join(lines) for lines in snippets) + "\n"


# ----------------------------------------------------------------------------------------- reading, writing
def write_code_world(folder: str | Path, tasks: Sequence[CodeTask], corpus: Sequence[str]) -> dict[str, Path]:
    """folder/test/synth-code.jsonl (a CodeTask per line) and folder/code_corpus.jsonl (the corpus layout of
    dsmath_lib.corpus.inputs.write_corpus: {url, text, n_tokens}), each written atomically."""
    from dsmath_lib.corpus.inputs import write_corpus
    from dsmath_lib.webdata import WebPage

    folder = Path(folder)
    files = {BENCHMARK: folder / "test" / f"{BENCHMARK}.jsonl", "code_corpus": folder / "code_corpus.jsonl"}
    _write_jsonl(list(tasks), files[BENCHMARK])
    tmp = files["code_corpus"].with_suffix(".tmp")
    write_corpus(tmp, [WebPage(f"https://code.example/{i}.py", text) for i, text in enumerate(corpus)])
    os.replace(tmp, files["code_corpus"])
    return files


def read_code_tasks(path: str | Path) -> list[CodeTask]:
    """The tasks in a file written by write_code_world; a malformed line raises ValueError naming it."""
    tasks = []
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            tasks.append(CodeTask.from_dict(json.loads(line)))
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{path}:{lineno}: not a code task ({err})") from err
    return tasks
