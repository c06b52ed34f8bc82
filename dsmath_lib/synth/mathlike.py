"""MATH-like problems with LaTeX answers (benchmark "synth-math"): algebra, fractions, number theory, counting.

    import random
    from dsmath_lib.synth.mathlike import generate_fractions
    p = generate_fractions(random.Random(0), level=3)
    p.question    # 'What is $\\frac{1}{4}+\\frac{5}{6}$? Write the answer in simplest form.'
    p.answer      # '\\frac{13}{12}'

One generator per family, `generate_<family>(rng, level, max_operand=99)`, levels 1..5 as in MATH. A level
picks harder forms, not only bigger numbers:
- algebra: 1 x+b=c; 2 ax=c, x/a=c or evaluate ax+b; 3 ax+b=c or evaluate ax^2+b; 4 ax+b=cx+d or evaluate
  ax^2+bx+c at a negative x; 5 a(x+b)=cx+d with a fractional answer, or a two-variable expression.
- fractions: 1 simplify, or add over a common denominator; 2 multiply; 3 add/subtract with different
  denominators; 4 divide, or subtract with larger denominators; 5 a sum with a product (order of operations).
- number_theory: 1 remainder; 2 gcd by Euclid's algorithm; 3 lcm via the gcd, or number of divisors;
  4 remainder of a product, or divisors of a larger number; 5 remainder of a power through its cycle.
- counting: 1 n! or a product of choices; 2 pairs (ordered or not); 3 triples; 4 committees from two
  groups or C(n,4); 5 words with repeated letters, or "at least one" by the complement.
Numbers that are not structural (equation constants and solutions, remainder dividends, gcd inputs,
group sizes) grow with size(L) = max(12, max_operand * L / 5), so max_operand also makes synth-math easier
or harder; fraction denominators stay at most 12-20.

Answers follow MATH: an integer ("-7") or a reduced fraction with the sign in front ("-\\frac{3}{4}").
Solutions write one step per line and end with "The answer is \\boxed{...}."; programs use only the
standard library (fractions, math) and print the answer string exactly. Questions write each formula
without spaces ("$3x+4=19$"), so a formula is one word for the 10-gram overlap check (see overlap.py).

Departure from MATH: no geometry, precalculus or proofs, and no problem needs more than a few lines; the
families are the ones whose answers a program can compute and a tiny model can learn from scratch.
"""

from __future__ import annotations

import math
import random
from fractions import Fraction

from dsmath_lib.problem import Problem
from dsmath_lib.synth.arithmetic import NAMES
from dsmath_lib.synth.assemble import PRINT_FRACTION, assemble, latex_number

BENCHMARK = "synth-math"
MAX_LEVEL = 5  # the forms below are written for MATH's levels 1-5
_VARS = "xyzntmpwk"


def _size(level: int, max_operand: int) -> int:
    """How large free numbers get at a level: max_operand at level 5, at least 12."""
    return max(12, round(max_operand * level / MAX_LEVEL))


def _n(v: int | Fraction) -> str:
    """A signed number inside a solution line: negatives in parentheses so '- (-4)' reads right."""
    return f"({latex_number(v)})" if v < 0 else latex_number(v)


def _lin(a: int, b: int, v: str, space: str = "") -> str:
    """a*v + b written as LaTeX: _lin(3, -4, "x") == '3x-4', _lin(-1, 0, "y", " ") == '-y'."""
    head = {1: v, -1: f"-{v}"}.get(a, f"{a}{v}") if a else ""
    if not b:
        return head or "0"
    if not head:
        return str(b)
    return f"{head}{space}{'+' if b > 0 else '-'}{space}{abs(b)}"


def _frac(q: Fraction) -> str:
    """A positive fraction in a question or a solution line, always as \\frac (even 4/2)."""
    return f"\\frac{{{q.numerator}}}{{{q.denominator}}}"


def _check_level(subject: str, level: int) -> None:
    if not 1 <= level <= MAX_LEVEL:
        raise ValueError(f"{BENCHMARK}/{subject}: level {level} outside 1..{MAX_LEVEL} (world.math_levels)")


def _nonzero(rng: random.Random, hi: int) -> int:
    return rng.choice([-1, 1]) * rng.randint(1, hi)


# ---- algebra ---------------------------------------------------------------------------------------

def _solve(rng: random.Random, level: int, size: int, v: str):
    """A linear equation at `level`: (equation, steps, program lines, answer)."""
    x = rng.randint(1, size) if level <= 2 else _nonzero(rng, size)
    if level == 1:
        b = _nonzero(rng, size)
        steps = [f"{v} = {x + b} {'-' if b > 0 else '+'} {abs(b)} = {x}"]
        return f"{_lin(1, b, v)}={x + b}", steps, [f"{v} = {x + b} - {_n(b)}", f"print({v})"], str(x)
    a = rng.randint(2, 9)
    if level == 2 and rng.random() < 0.5:
        return f"{a}{v}={a * x}", [f"{v} = {a * x} / {a} = {x}"], [f"{v} = {a * x} // {a}", f"print({v})"], str(x)
    if level == 2:
        eq = f"\\frac{{{v}}}{{{a}}}={x}"
        return eq, [f"{v} = {x} \\cdot {a} = {a * x}"], [f"{v} = {x} * {a}", f"print({v})"], str(a * x)
    if level == 3:
        b = _nonzero(rng, size)
        c = a * x + b
        steps = [f"{a}{v} = {c} - {_n(b)} = {a * x}", f"{v} = {_n(a * x)} / {a} = {x}"]
        return f"{_lin(a, b, v)}={c}", steps, [f"{v} = ({c} - {_n(b)}) // {a}", f"print({v})"], str(x)
    c = rng.randint(1, 8)
    a = rng.randint(c + 1, 9)  # a > c: the x terms gather on the left with a positive coefficient
    if level == 4:
        b = _nonzero(rng, size)
        d = (a - c) * x + b
        steps = [f"{a}{v} - {_lin(c, 0, v)} = {_n(d)} - {_n(b)}", f"{_lin(a - c, 0, v)} = {d - b}"]
        steps += [f"{v} = {_n(d - b)} / {a - c} = {x}"] if a - c > 1 else []
        code = [f"{v} = ({d} - {_n(b)}) // ({a} - {c})", f"print({v})"]
        return f"{_lin(a, b, v)}={_lin(c, d, v)}", steps, code, str(x)
    b, d = _nonzero(rng, 9), _nonzero(rng, size)
    sol = Fraction(d - a * b, a - c)
    steps = [f"{_lin(a, a * b, v, ' ')} = {_lin(c, d, v, ' ')}", f"{a}{v} - {_lin(c, 0, v)} = {_n(d)} - {_n(a * b)}",
             f"{_lin(a - c, 0, v)} = {d - a * b}", f"{v} = {latex_number(sol)}"]
    code = ["from fractions import Fraction", f"r = Fraction({d} - {_n(a * b)}, {a} - {c})", *PRINT_FRACTION]
    return f"{a}({_lin(1, b, v)})={_lin(c, d, v)}", steps, code, latex_number(sol)


def _evaluate(rng: random.Random, level: int, size: int, v: str):
    """An expression to evaluate at given values (levels 2-5): (question, steps, program lines, answer)."""
    a, b, c = rng.randint(2, 9), _nonzero(rng, size), _nonzero(rng, size)
    x = rng.randint(2, 9) if level < 4 else -rng.randint(1, 9)
    if level == 2:
        expr, py, value = _lin(a, b, v), f"{a} * {v} + {_n(b)}", a * x + b
        steps = [f"{a} \\cdot {x} = {a * x}", f"{a * x} + {_n(b)} = {value}"]
    elif level == 3:
        expr, py, value = f"{a}{v}^2{'+' if b > 0 else '-'}{abs(b)}", f"{a} * {v}**2 + {_n(b)}", a * x * x + b
        steps = [f"{x}^2 = {x * x}", f"{a} \\cdot {x * x} = {a * x * x}", f"{a * x * x} + {_n(b)} = {value}"]
    elif level == 4:
        k = _nonzero(rng, 9)
        expr = f"{a}{v}^2{'+' if k > 0 else '-'}{_lin(abs(k), c, v)}"
        py, value = f"{a} * {v}**2 + {_n(k)} * {v} + {_n(c)}", a * x * x + k * x + c
        steps = [f"{_n(x)}^2 = {x * x}", f"{a} \\cdot {x * x} = {a * x * x}", f"{k} \\cdot {_n(x)} = {k * x}",
                 f"{a * x * x} + {_n(k * x)} + {_n(c)} = {value}"]
    else:
        w, y, b = ("y" if v != "y" else "z"), _nonzero(rng, 9), abs(b)
        expr, value = f"{a}{v}^2-{b}{v}{w}", a * x * x - b * x * y
        steps = [f"{a} \\cdot {_n(x)}^2 = {a * x * x}", f"{b} \\cdot {_n(x)} \\cdot {_n(y)} = {b * x * y}",
                 f"{a * x * x} - {_n(b * x * y)} = {value}"]
        code = [f"{v}, {w} = {x}, {y}", f"print({a} * {v}**2 - {b} * {v} * {w})"]
        return f"What is the value of ${expr}$ when ${v}={x}$ and ${w}={y}$?", steps, code, str(value)
    return f"What is the value of ${expr}$ when ${v}={x}$?", steps, [f"{v} = {x}", f"print({py})"], str(value)


def generate_algebra(rng: random.Random, level: int, max_operand: int = 99) -> Problem:
    """Solve a linear equation, or evaluate an expression (levels 2-5), in a random variable letter.

    >>> p = generate_algebra(random.Random(0), 3)
    >>> p.subject, p.level, p.answer_kind
    ('algebra', 3, 'latex')
    """
    _check_level("algebra", level)
    v, size = rng.choice(_VARS), _size(level, max_operand)
    if level >= 2 and rng.random() < 0.4:
        question, steps, code, answer = _evaluate(rng, level, size, v)
    else:
        eq, steps, code, answer = _solve(rng, level, size, v)
        question = rng.choice(["Solve for ${v}$: ${eq}$.", "Find ${v}$ if ${eq}$.", "If ${eq}$, what is ${v}$?"])
        question = question.format(v=v, eq=eq)
    return assemble(BENCHMARK, "algebra", level, question, steps, answer, code, "latex")


# ---- fractions -------------------------------------------------------------------------------------

def _proper(rng: random.Random, max_den: int) -> Fraction:
    den = rng.randint(2, max_den)
    return Fraction(rng.randint(1, den - 1), den)


def _reduce_steps(num: int, den: int) -> list[str]:
    """The simplifying line(s) after a result num/den: none when already in lowest terms."""
    g = math.gcd(num, den)
    if g == 1:
        return []
    divided = f"\\frac{{{num} \\div {g}}}{{{den} \\div {g}}}"
    return [f"\\frac{{{num}}}{{{den}}} = {divided} = {latex_number(Fraction(num, den))}"]


def _add_steps(x: Fraction, y: Fraction, op: str) -> list[str]:
    """x op y over the least common denominator, one line per rewritten fraction."""
    lcd = math.lcm(x.denominator, y.denominator)
    xn, yn = x.numerator * lcd // x.denominator, y.numerator * lcd // y.denominator
    total = xn + yn if op == "+" else xn - yn
    steps = [f"The least common denominator of {x.denominator} and {y.denominator} is {lcd}."]
    steps += [f"{_frac(f)} = \\frac{{{n}}}{{{lcd}}}" for f, n in ((x, xn), (y, yn)) if f.denominator != lcd]
    steps.append(f"\\frac{{{xn}}}{{{lcd}}} {op} \\frac{{{yn}}}{{{lcd}}} = \\frac{{{total}}}{{{lcd}}}")
    return steps + _reduce_steps(total, lcd)


def _mul_steps(x: Fraction, y: Fraction) -> list[str]:
    num, den = x.numerator * y.numerator, x.denominator * y.denominator
    step = (f"{_frac(x)} \\cdot {_frac(y)} = \\frac{{{x.numerator} \\cdot {y.numerator}}}"
            f"{{{x.denominator} \\cdot {y.denominator}}} = \\frac{{{num}}}{{{den}}}")
    return [step] + _reduce_steps(num, den)


def _py(f: Fraction) -> str:
    return f"Fraction({f.numerator}, {f.denominator})"


def _fraction_task(rng: random.Random, level: int):
    """(formula, steps, python expression, result) for a fractions problem at `level`."""
    dens = {1: 12, 2: 12, 3: 15, 4: 20, 5: 12}[level]
    x, y = _proper(rng, dens), _proper(rng, dens)
    if level == 1 and rng.random() < 0.5:
        k, d = rng.randint(2, 9), rng.randint(3, dens)
        num = rng.randint(1, d - 1) * k
        x = Fraction(num, d * k)  # not reduced: the question shows num / (d * k) as drawn
        return f"\\frac{{{num}}}{{{d * k}}}", _reduce_steps(num, d * k), f"Fraction({num}, {d * k})", x
    if level == 1:
        y = Fraction(rng.randint(1, x.denominator), x.denominator)
        d, s = x.denominator, x.numerator + y.numerator
        a, b = x.numerator, y.numerator
        steps = [f"\\frac{{{a}}}{{{d}}} + \\frac{{{b}}}{{{d}}} = \\frac{{{a} + {b}}}{{{d}}} = \\frac{{{s}}}{{{d}}}"]
        return (f"\\frac{{{x.numerator}}}{{{d}}}+\\frac{{{y.numerator}}}{{{d}}}", steps + _reduce_steps(s, d),
                f"Fraction({x.numerator}, {d}) + Fraction({y.numerator}, {d})", Fraction(s, d))
    if level == 2:
        y = Fraction(rng.randint(1, dens), rng.randint(2, dens))  # may be improper: a lot of cancelling
        y = y if y.denominator > 1 else Fraction(y.numerator, y.numerator + 1)
        return f"{_frac(x)}\\cdot{_frac(y)}", _mul_steps(x, y), f"{_py(x)} * {_py(y)}", x * y
    if level == 3 or (level == 4 and rng.random() < 0.5):
        op = rng.choice("+-")
        if op == "-" and x <= y:
            x, y = (y, x) if x < y else (x + 1, y)
        result = x + y if op == "+" else x - y
        return f"{_frac(x)}{op}{_frac(y)}", _add_steps(x, y, op), f"{_py(x)} {op} {_py(y)}", result
    if level == 4:
        flip = Fraction(y.denominator, y.numerator)
        steps = [f"{_frac(x)} \\div {_frac(y)} = {_frac(x)} \\cdot {_frac(flip)}"] + _mul_steps(x, flip)
        return f"{_frac(x)}\\div{_frac(y)}", steps, f"{_py(x)} / {_py(y)}", x / y
    z = _proper(rng, dens)
    steps = ["Multiply first."] + _mul_steps(y, z) + _add_steps(x, y * z, "+")
    return f"{_frac(x)}+{_frac(y)}\\cdot{_frac(z)}", steps, f"{_py(x)} + {_py(y)} * {_py(z)}", x + y * z


def generate_fractions(rng: random.Random, level: int, max_operand: int = 99) -> Problem:
    """Simplify, add, subtract, multiply and divide fractions; the answer is in lowest terms. Denominators
    stay at most 12-20 whatever max_operand (taken for a uniform signature): size is not the difficulty here.

    >>> generate_fractions(random.Random(0), 2).program.startswith("from fractions import Fraction")
    True
    """
    _check_level("fractions", level)
    formula, steps, expr, result = _fraction_task(rng, level)
    template = rng.choice(["What is ${f}$? Write the answer in simplest form.", "Compute ${f}$ in lowest terms.",
                           "Write ${f}$ in simplest form."])
    code = ["from fractions import Fraction", f"r = {expr}", *PRINT_FRACTION]
    return assemble(BENCHMARK, "fractions", level, template.format(f=formula), steps, latex_number(result),
                    code, "latex")


# ---- number theory ---------------------------------------------------------------------------------

def _euclid(a: int, b: int) -> list[str]:
    """Euclid's algorithm on a >= b, one division per line."""
    steps = []
    while b:
        q, r = divmod(a, b)
        steps.append(f"{a} = {q} \\cdot {b} + {r}")
        a, b = b, r
    return steps + [f"The last nonzero remainder is {a}."]


def _factor(n: int) -> dict[int, int]:
    out, p = {}, 2
    while p * p <= n:
        while n % p == 0:
            out[p] = out.get(p, 0) + 1
            n //= p
        p += 1
    if n > 1:
        out[n] = out.get(n, 0) + 1
    return out


def _divisors_task(rng: random.Random, hi: int):
    n = rng.randint(12, hi)
    while len(_factor(n)) < 2:  # a prime power is too easy for this level
        n = rng.randint(12, hi)
    f = _factor(n)
    powers = " \\cdot ".join(f"{p}^{{{e}}}" if e > 1 else str(p) for p, e in f.items())
    count = math.prod(e + 1 for e in f.values())
    steps = [f"{n} = {powers}", " \\cdot ".join(f"({e} + 1)" for e in f.values()) + f" = {count}"]
    code = [f"n = {n}", "print(sum(1 for d in range(1, n + 1) if n % d == 0))"]
    return f"How many positive divisors does {n} have?", steps, code, count


def _power_task(rng: random.Random, size: int):
    m = rng.choice([3, 5, 7, 11, 13])
    b = rng.choice([k for k in range(2, 10) if k % m > 1])  # b = 1 (mod m) would make the cycle trivial
    e = rng.randint(10, max(20, size))
    steps, r, order = [], 1, 0
    while True:
        order += 1
        r = r * b % m
        steps.append(f"{b}^{{{order}}} \\equiv {r} \\pmod{{{m}}}")
        if r == 1:
            break
    q, rest = divmod(e, order)
    answer = pow(b, e, m)
    steps += [f"{e} = {q} \\cdot {order} + {rest}",
              f"{b}^{{{e}}} \\equiv {b}^{{{rest}}} \\equiv {answer} \\pmod{{{m}}}"]
    question = f"What is the remainder when ${b}^{{{e}}}$ is divided by {m}?"
    return question, steps, [f"print(pow({b}, {e}, {m}))"], answer


def _number_theory_task(rng: random.Random, level: int, size: int):
    """(question, steps, program lines, integer answer) for a number theory problem at `level`."""
    if level == 1:
        a, d = rng.randint(10, 2 * size), rng.randint(2, 9)
        q, r = divmod(a, d)
        return (f"What is the remainder when {a} is divided by {d}?", [f"{a} = {d} \\cdot {q} + {r}"],
                [f"print({a} % {d})"], r)
    if level == 2 or (level == 3 and rng.random() < 0.5):
        g = rng.randint(2, max(2, size // 6))
        p, q = rng.sample(range(1, max(4, 2 * size // g) + 1), 2)
        a, b = max(p, q) * g, min(p, q) * g
        if level == 2:
            return (f"What is the greatest common divisor of {a} and {b}?", _euclid(a, b),
                    ["import math", f"print(math.gcd({a}, {b}))"], math.gcd(a, b))
        g = math.gcd(a, b)
        steps = _euclid(a, b) + [f"\\operatorname{{lcm}}({a}, {b}) = \\frac{{{a} \\cdot {b}}}{{{g}}} = {a * b // g}"]
        return (f"What is the least common multiple of {a} and {b}?", steps,
                ["import math", f"print({a} * {b} // math.gcd({a}, {b}))"], a * b // g)
    if level == 3:
        return _divisors_task(rng, 4 * size)
    if level == 4 and rng.random() < 0.5:
        return _divisors_task(rng, 10 * size)
    if level == 4:
        a, b, d = rng.randint(10, 2 * size), rng.randint(10, 2 * size), rng.randint(3, 12)
        ra, rb = a % d, b % d
        steps = [f"{a} \\equiv {ra} \\pmod{{{d}}}", f"{b} \\equiv {rb} \\pmod{{{d}}}",
                 f"{ra} \\cdot {rb} = {ra * rb} = {d} \\cdot {ra * rb // d} + {ra * rb % d}"]
        return (f"What is the remainder when ${a}\\cdot{b}$ is divided by {d}?", steps,
                [f"print(({a} * {b}) % {d})"], a * b % d)
    return _power_task(rng, size)


def generate_number_theory(rng: random.Random, level: int, max_operand: int = 99) -> Problem:
    """Remainders, gcd, lcm, number of divisors, remainders of products and powers.

    >>> generate_number_theory(random.Random(0), 1).question.startswith("What is the remainder")
    True
    """
    _check_level("number_theory", level)
    question, steps, code, answer = _number_theory_task(rng, level, _size(level, max_operand))
    return assemble(BENCHMARK, "number_theory", level, question, steps, str(answer), code, "latex")


# ---- counting --------------------------------------------------------------------------------------

_OBJECTS = ["books", "paintings", "trophies", "flags", "vases", "photos", "candles", "plants", "lamps", "clocks",
            "hats", "scarves", "kites", "mugs"]
_GROUPS = ["club", "team", "class", "choir", "band", "committee", "lab", "crew"]
_ROLES = ["captain", "treasurer", "secretary", "coach", "editor", "leader", "judge", "host", "driver", "cook"]
_PAIRS = [("teachers", "students", "teacher"), ("adults", "children", "adult"), ("doctors", "nurses", "doctor"),
          ("coaches", "players", "coach"), ("chefs", "waiters", "chef"), ("girls", "boys", "girl")]
_WORDS = ["LEVEL", "BANANA", "APPLE", "LETTER", "PEPPER", "TOMATO", "COFFEE", "BALLOON", "ALPHA", "SUCCESS",
          "CIRCLE", "PUZZLE", "RADAR", "GAMMA", "COOKIE", "TEETH", "ERROR", "DEGREE", "ARRAY", "BOOKKEEPER",
          "BUBBLE", "KETTLE", "MAMMAL", "NOODLE", "RIDDLE", "TATTOO"]


def _falling(n: int, k: int) -> str:
    return " \\cdot ".join(str(n - i) for i in range(k))


def _binom_step(n: int, k: int) -> str:
    return f"\\binom{{{n}}}{{{k}}} = \\frac{{{_falling(n, k)}}}{{{_falling(k, k)}}} = {math.comb(n, k)}"


def _arrangements(rng: random.Random, name: str):
    """Level 5: words with repeated letters, n! over the repeats' factorials."""
    word = rng.choice(_WORDS)
    repeats = [word.count(c) for c in sorted(set(word)) if word.count(c) > 1]
    total, dup = math.factorial(len(word)), math.prod(math.factorial(r) for r in repeats)
    steps = [f"{len(word)}! = {total}", " \\cdot ".join(f"{r}!" for r in repeats) + f" = {dup}",
             f"\\frac{{{total}}}{{{dup}}} = {total // dup}"]
    code = ["import math", f'word = "{word}"', "count = math.factorial(len(word))",
            "for letter in set(word):", "    count //= math.factorial(word.count(letter))", "print(count)"]
    return f"How many ways can {name} arrange the letters of {word}?", steps, code, total // dup


def _counting_task(rng: random.Random, level: int, size: int):
    """(question, steps, program lines, integer answer) for a counting problem at `level`.

    Every question names a person and puts a number within a few words of any fixed phrase, so that two
    different questions rarely share a 10-word window (see overlap.py)."""
    name, obj, group = rng.choice(NAMES)[0], rng.choice(_OBJECTS), rng.choice(_GROUPS)
    hi = min(max(6, size // 4), 20)
    if level == 1 and rng.random() < 0.5:
        n = rng.randint(3, 6)
        return (f"In how many ways can {name} arrange {n} different {obj} in a row?",
                [f"{n}! = {_falling(n, n)} = {math.factorial(n)}"], ["import math", f"print(math.factorial({n}))"],
                math.factorial(n))
    if level == 1:
        a, b = rng.randint(2, hi), rng.randint(2, hi)
        other = rng.choice([o for o in _OBJECTS if o != obj])
        return (f"How many ways can {name} pick one of {a} {obj} and one of {b} {other}?",
                [f"{a} \\cdot {b} = {a * b}"], [f"print({a} * {b})"], a * b)
    if level in (2, 3):
        n, k = rng.randint(level + 2, hi + level), level
        if rng.random() < 0.5:
            roles = [f"a {r}" for r in rng.sample(_ROLES, k)]
            return (f"How many ways can {name} pick {', '.join(roles[:-1])} and {roles[-1]} from {n} friends?",
                    [f"{_falling(n, k)} = {math.perm(n, k)}"], ["import math", f"print(math.perm({n}, {k}))"],
                    math.perm(n, k))
        return (f"How many ways can {name} choose {k} of {n} different {obj}, in any order?",
                [_binom_step(n, k)], ["import math", f"print(math.comb({n}, {k}))"], math.comb(n, k))
    if level == 4 and rng.random() < 0.5:
        a, b, i, j = rng.randint(3, hi), rng.randint(3, hi), rng.randint(1, 2), rng.randint(1, 2)
        (many_a, many_b, _), x, y = rng.choice(_PAIRS), math.comb(a, i), math.comb(b, j)
        return (f"How many ways can {name} pick {i} of {a} {many_a} and {j} of {b} {many_b}?",
                [_binom_step(a, i), _binom_step(b, j), f"{x} \\cdot {y} = {x * y}"],
                ["import math", f"print(math.comb({a}, {i}) * math.comb({b}, {j}))"], x * y)
    if level == 4:
        n = rng.randint(6, hi + 4)
        return (f"How many ways can {name} choose 4 of the {n} members of the {group}?", [_binom_step(n, 4)],
                ["import math", f"print(math.comb({n}, 4))"], math.comb(n, 4))
    if rng.random() < 0.5:
        return _arrangements(rng, name)
    (many_a, many_b, one_a), m, n = rng.choice(_PAIRS), rng.randint(2, 6), rng.randint(4, hi)
    k = rng.randint(2, min(4, n))
    total, none = math.comb(m + n, k), math.comb(n, k)
    steps = [_binom_step(m + n, k), _binom_step(n, k), f"{total} - {none} = {total - none}"]
    return (f"{name} picks {k} people from {m} {many_a} and {n} {many_b}. How many of {name}'s choices include "
            f"at least one {one_a}?", steps, ["import math", f"print(math.comb({m + n}, {k}) - math.comb({n}, {k}))"],
            total - none)


def generate_counting(rng: random.Random, level: int, max_operand: int = 99) -> Problem:
    """Arrangements, products of choices, permutations, combinations, committees, repeated letters.

    >>> generate_counting(random.Random(0), 5).answer.isdigit()
    True
    """
    _check_level("counting", level)
    question, steps, code, answer = _counting_task(rng, level, _size(level, max_operand))
    return assemble(BENCHMARK, "counting", level, question, steps, str(answer), code, "latex")


FAMILIES = {
    "algebra": generate_algebra,
    "fractions": generate_fractions,
    "number_theory": generate_number_theory,
    "counting": generate_counting,
}
