"""GSM8K-like word problems (benchmark "synth-gsm"): short stories whose level is their number of steps.

    import random
    from dsmath_lib.synth.arithmetic import generate_shopping
    p = generate_shopping(random.Random(0), level=3)
    p.question, p.solution, p.program, p.answer

Six scenarios, each a generator `generate_<scenario>(rng, level, max_operand=99, max_steps=5)`:
collection (things gained, lost, packed and split), shopping (money, prices, hourly pay), ages (a chain of
people each defined from the one before), travel (distance from home, speed times hours), baking (treats
baked in trays and shared equally), farm (rows of plants, harvest per plant, bags). A story opens with a
starting amount and then applies events; each event is one or two arithmetic steps, so level L means
exactly L equation lines in the solution ("Mia has 12 + 7 = 19 marbles."), then "The answer is 19.".
The program mirrors the steps one assignment per step and prints the answer.

Difficulty knobs: `level` (steps) and `max_operand`. Starting amounts and addends at level L are drawn up
to cap(L) = max(10, max_operand * L / max_steps), so level 1 uses small numbers and the top level uses
numbers up to max_operand; multipliers and divisors are single digits growing with the level (2..3 at
level 1, 2..L+2 later); no intermediate value exceeds 10 * max_operand. Every intermediate is a positive
integer: subtractions leave at least one, divisions are exact (a story that cannot continue is redrawn
from the same rng, so generation stays deterministic).

Wording is chosen for the 10-gram overlap check (overlap.py): sentences start with the person's name rather
than a pronoun, units are one word, and sentences end on a number or a name where they can, so that every
10-word window of a question holds a name or a number and two different stories rarely share one.

Departure from GSM8K: the stories are templated and the arithmetic is a chain on one running amount (ages
chain people instead). Real GSM8K problems combine quantities more freely and need reading comprehension
our tiny models do not have; the chain keeps every level learnable at ~1-10M parameters.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Callable

from dsmath_lib.problem import Problem
from dsmath_lib.synth.assemble import assemble

BENCHMARK = "synth-gsm"

# Names carry most of the variety that keeps different questions apart in every 10-word window.
_SHE = ("Mia Ava Zoe Lena Nora Ruth Ines Maya Lucy Emma Sara Aisha Chloe Priya Hana Yara Ella Rosa Tess Nina "
        "Leah Ivy Amara Kira Jade Mei Lola Fatima Greta Iris Carmen Dana Freya Olga Paula Alice Bella Clara Daisy "
        "Edith Fiona Gemma Helen Irene Julia Karen Laura Marta Naomi Olive Petra Quinn Rita Selma Tara Uma Vera "
        "Wanda Xenia Yuki Zara Anya Beth Cora Dina Esme Faye Gina Hazel Ingrid Joy Kate Lila Mona Nell Opal Pia "
        "Rhea Sofia Tina Una Vita").split()
_HE = ("Liam Noah Omar Ben Leo Sam Ravi Jack Tom Eli Hugo Kai Luca Max Finn Ivan Jonas Kofi Diego Arjun Mateo "
       "Theo Yusuf Felix Oscar Pablo Ahmed Bruno Caleb Dmitri Emil Goran Hiro Jorge Karl Aaron Boris Carlos Dev "
       "Ethan Frank George Henry Igor Jamal Kevin Lars Marco Nikos Otto Peter Quentin Rafael Simon Tariq Umar "
       "Victor Walter Xavier Yann Zack Adam Basil Cyrus Dario Ezra Fritz Gus Hamid Ian Jude Kurt Lev Milo Nils "
       "Orrin Piet Rudy Stefan Tobias").split()
NAMES = [(n, "she") for n in _SHE] + [(n, "he") for n in _HE]  # (name, pronoun), shared with mathlike


def _person(rng: random.Random, taken: set[str]) -> tuple[str, str]:
    """(name, "she" | "he"), a name not yet used in this story."""
    while True:
        name, pron = rng.choice(NAMES)
        if name not in taken:
            taken.add(name)
            return name, pron


@dataclass
class Story:
    """A word problem while it is being written: the running amount and the text, steps and code so far."""

    rng: random.Random
    cap: int  # largest starting amount or addend at this level
    mult: int  # largest multiplier or divisor at this level
    limit: int  # no intermediate value may exceed this
    name: str = ""
    pron: str = "she"
    unit: str = ""
    var: str = ""  # the program's variable for the running amount
    value: int = 0
    taken: set[str] = field(default_factory=set)
    sentences: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    code: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)  # facts later events check ("harvested", ...)
    words: dict[str, str] = field(default_factory=dict)  # story-wide words templates use ({verb}, {fruit})
    people: list[tuple[str, int]] = field(default_factory=list)  # (name, age) so far, for the ages story

    def fill(self, template: str, **kw) -> str:
        """Fill a template's {Name} {pos} {obj} {unit} fields, the story's words and the given ones."""
        pos = "her" if self.pron == "she" else "his"
        obj = "her" if self.pron == "she" else "him"
        text = template.format(Name=self.name, pos=pos, obj=obj, unit=self.unit, **{**self.words, **kw})
        return text[0].upper() + text[1:]

    def say(self, *templates: str, **kw) -> None:
        self.sentences.append(self.fill(self.rng.choice(templates), **kw))

    def step(self, template: str, **kw) -> None:
        self.steps.append(self.fill(template, **kw))

    def number(self, lo: int = 2, hi: int | None = None) -> int:
        return self.rng.randint(lo, max(lo, self.cap if hi is None else hi))

    def factor(self) -> int:
        return self.rng.randint(2, self.mult)

    def apply(self, op: str, k: int, template: str, var: str | None = None) -> None:
        """One arithmetic step on the running amount: the solution line and the program line."""
        var = var or self.var
        new = {"+": self.value + k, "-": self.value - k, "*": self.value * k, "/": self.value // k}[op]
        self.step(template, a=self.value, op=op, k=k, c=new)
        self.code.append(f"{var} = {self.var} {'//' if op == '/' else op} {k}")
        self.var, self.value = var, new


Event = Callable[[Story], bool]  # adds one or two steps and returns True, or changes nothing and returns False


def _can_grow(s: Story, k: int) -> bool:
    return s.value + k <= s.limit


def _take(s: Story) -> int | None:
    """An amount to subtract that leaves at least 2 (so no "1 marbles"), or None when too little is left."""
    return None if s.value < 4 else s.number(1, min(s.cap, s.value - 2))


def _divisor(s: Story) -> int | None:
    """A divisor of the running amount in 2..mult leaving at least 2, or None."""
    options = [d for d in range(2, s.mult + 1) if s.value % d == 0 and s.value // d >= 2]
    return s.rng.choice(options) if options else None


def _product(s: Story, sentences: tuple[str, ...], first: str, second: str, op: str, var: str) -> bool:
    """Two steps: m * n into a helper variable, then add it to or take it from the running amount."""
    m, n = s.factor(), s.number()
    p = m * n
    if (op == "+" and not _can_grow(s, p)) or (op == "-" and p > s.value - 2):
        return False
    other, _ = _person(s.rng, s.taken)
    s.say(*sentences, m=m, n=n, Other=other)
    s.step(first, m=m, n=n, p=p)
    s.code.append(f"{var} = {m} * {n}")
    new = s.value + p if op == "+" else s.value - p
    s.step(second, a=s.value, op=op, k=p, c=new)
    s.code.append(f"{s.var} = {s.var} {op} {var}")
    s.value = new
    return True


def _tell(s: Story, events: list[tuple[Event, int]], budget: int) -> bool:
    """Apply random events until `budget` more steps are written; False when the story gets stuck."""
    target = len(s.steps) + budget
    while len(s.steps) < target:
        room = target - len(s.steps)
        options = [event for event, cost in events if cost <= room]
        s.rng.shuffle(options)
        if not any(event(s) for event in options):
            return False
    return True


# ---- collection ------------------------------------------------------------------------------------

# One-word units keep a name or a number inside every 10-word window of a question (see overlap.py).
_THINGS = ["marbles", "stickers", "stamps", "seashells", "cards", "beads", "buttons", "crayons", "magnets",
           "postcards", "pebbles", "keychains", "comics", "badges", "feathers", "erasers"]


def _gain(s: Story) -> bool:
    k = s.number()
    if not _can_grow(s, k):
        return False
    other, _ = _person(s.rng, s.taken)
    s.say("{Name} buys {k} more {unit}.", "{Other} gives {obj} {k} {unit}.", "{Name} finds {k} more.",
          "{Name} wins {k} {unit} in a game with {Other}.", k=k, Other=other)
    s.apply("+", k, "{Name} has {a} + {k} = {c} {unit}.")
    return True


def _lose(s: Story) -> bool:
    k = _take(s)
    if k is None:
        return False
    other, _ = _person(s.rng, s.taken)
    s.say("{Name} gives {k} {unit} to {Other}.", "{Name} loses {k} of them.",
          "{Name} trades {k} {unit} to {Other} for a book.", k=k, Other=other)
    s.apply("-", k, "{Name} has {a} - {k} = {c} {unit}.")
    return True


def _times(s: Story) -> bool:
    k = s.factor()
    if s.value * k > s.limit:
        return False
    word = {2: "doubles", 3: "triples"}.get(k)
    s.say(*([f"{{Name}} {word} {{pos}} {{unit}}."] if word else []),
          "{Name} trades them for {k} times as many {unit}.", k=k)
    s.apply("*", k, "{Name} has {a} * {k} = {c} {unit}.")
    return True


def _split(s: Story) -> bool:
    k = _divisor(s)
    if k is None:
        return False
    other, _ = _person(s.rng, s.taken)
    s.say("{Name} keeps one of {k} equal piles and gives {Other} the rest.", k=k, Other=other)
    s.apply("/", k, "{Name} keeps {a} / {k} = {c} {unit}.")
    return True


def _packs(s: Story) -> bool:
    return _product(s, ("{Other} gives {obj} {m} packs of {n} {unit}.",
                        "{Name} buys {m} boxes with {n} {unit} in each."),
                    "That is {m} * {n} = {p} {unit}.", "{Name} has {a} + {k} = {c} {unit}.", "+", "extra")


def _give_each(s: Story) -> bool:
    return _product(s, ("{Name} gives {n} {unit} to each of {m} friends.",),
                    "{Name} gives away {m} * {n} = {p} {unit}.", "{Name} has {a} - {k} = {c} {unit}.", "-", "given")


def generate_collection(rng: random.Random, level: int, max_operand: int = 99, max_steps: int = 5) -> Problem:
    """Things a child collects, gains, gives away, packs and splits.

    >>> p = generate_collection(random.Random(1), 2)
    >>> p.level, len(p.solution.splitlines())
    (2, 3)
    """
    def story(s: Story) -> bool:
        s.unit = rng.choice(_THINGS)
        s.var, s.value = s.unit.replace(" ", "_"), s.number()
        s.say("{Name} has {v} {unit}.", "{Name} owns {v} {unit}.", v=s.value)
        s.code.append(f"{s.var} = {s.value}")
        events = [(_gain, 1), (_lose, 1), (_times, 1), (_split, 1), (_packs, 2), (_give_each, 2)]
        if not _tell(s, events, level):
            return False
        s.say("How many {unit} does {Name} have now?", "How many {unit} does {Name} have left?")
        return True
    return _write(rng, level, max_operand, max_steps, "collection", story)


# ---- shopping --------------------------------------------------------------------------------------

_ITEMS = ["notebooks", "pens", "apples", "sandwiches", "tickets", "muffins", "plants", "candles", "socks",
          "bottles of juice", "packs of gum", "bus passes", "light bulbs", "postcards"]
_ONE_ITEM = ["book", "hat", "kite", "ball", "lunch", "scarf", "puzzle", "lamp", "backpack", "poster"]
_JOBS = ["babysitting", "dogsitting", "tutoring", "gardening", "cleaning", "painting", "baking", "sewing"]


def _earn(s: Story) -> bool:
    k = s.number()
    if not _can_grow(s, k):
        return False
    other, _ = _person(s.rng, s.taken)
    s.say("{Name} earns ${k} {job}.", "{Other} buys {pos} old bike for ${k}.", "{Name} gets ${k} from {Other}.",
          k=k, Other=other, job=s.rng.choice(_JOBS))
    s.apply("+", k, "{Name} has {a} + {k} = {c} dollars.")
    return True


def _buy_one(s: Story) -> bool:
    k = _take(s)
    if k is None:
        return False
    s.say("{Name} buys a {item} for ${k}.", "{Name} spends ${k} on a {item}.", k=k, item=s.rng.choice(_ONE_ITEM))
    s.apply("-", k, "{Name} has {a} - {k} = {c} dollars left.")
    return True


def _buy_many(s: Story) -> bool:
    item = s.rng.choice(_ITEMS)
    return _product(s, (f"{{Name}} buys {{m}} {item} at ${{n}} each.",
                        f"{{Name}} pays for {{m}} {item} that cost ${{n}} each."),
                    f"The {item} cost {{m}} * {{n}} = {{p}} dollars.", "{Name} has {a} - {k} = {c} dollars left.",
                    "-", "cost")


def _wage(s: Story) -> bool:
    job = s.rng.choice(_JOBS)
    return _product(s, (f"{{Name}} does {job} for {{m}} hours at ${{n}} an hour.",),
                    "{Name} earns {m} * {n} = {p} dollars.", "{Name} has {a} + {k} = {c} dollars.", "+", "pay")


def _save_part(s: Story) -> bool:
    k = _divisor(s)
    if k is None or k > 4:
        return False
    part = {2: "half", 3: "a third", 4: "a quarter"}[k]
    other, _ = _person(s.rng, s.taken)
    s.say(f"{{Name}} keeps {part} of {{pos}} money and gives {{Other}} the rest.", Other=other)
    s.apply("/", k, "{Name} keeps {a} / {k} = {c} dollars.")
    return True


def generate_shopping(rng: random.Random, level: int, max_operand: int = 99, max_steps: int = 5) -> Problem:
    """Money earned and spent: single items, several items at a price each, hourly pay, saving a part.

    >>> generate_shopping(random.Random(0), 1).answer.isdigit()
    True
    """
    def story(s: Story) -> bool:
        s.unit, s.var, s.value = "dollars", "money", s.number()
        s.say("{Name} has ${v}.", "{Name} has ${v} to spend.", v=s.value)
        s.code.append(f"money = {s.value}")
        events = [(_earn, 1), (_buy_one, 1), (_save_part, 1), (_buy_many, 2), (_wage, 2)]
        if not _tell(s, events, level):
            return False
        s.say("How many dollars does {Name} have now?")
        return True
    return _write(rng, level, max_operand, max_steps, "shopping", story)


# ---- ages ------------------------------------------------------------------------------------------

def _relative(s: Story) -> bool:
    """A new person whose age is the last person's age plus, minus, times or divided by a number."""
    op = s.rng.choice("+-*/")
    k = {"+": s.number(2, min(s.cap, 30)), "-": s.number(2, min(s.cap, 30)), "*": s.factor(), "/": _divisor(s)}[op]
    if k is None or (op == "/" and k > 4):  # "half", "a third", "a quarter" as old; no "one 7th"
        return False
    if not 2 <= {"+": s.value + k, "-": s.value - k, "*": s.value * k, "/": s.value // k}[op] <= 100:
        return False  # ages stay between 2 and 100
    prev = s.name
    s.name, s.pron = _person(s.rng, s.taken)
    phrase = {"+": "{k} years older than {Prev}", "-": "{k} years younger than {Prev}",
              "*": "{times} as old as {Prev}", "/": "{part} as old as {Prev}"}[op]
    times = {2: "twice", 3: "three times"}.get(k, f"{k} times")
    part = {2: "half", 3: "a third", 4: "a quarter"}.get(k)
    s.say("{Name} is " + phrase + ".", k=k, Prev=prev, times=times, part=part)
    s.apply(op, k, "{Name} is {a} {op} {k} = {c} years old.", var=s.name.lower())
    s.people.append((s.name, s.value))
    return True


def _sum_of_two(s: Story) -> bool:
    """Two steps: a new person k years older than the last two people together."""
    if len(s.people) < 2:
        return False
    (first, x), (second, y) = s.people[-2:]
    k = s.number(2, 20)
    if x + y + k > 100:
        return False
    s.name, s.pron = _person(s.rng, s.taken)
    s.say("{Name} is {k} years older than {A} and {B} together.", k=k, A=first, B=second)
    s.step("{A} and {B} together are {x} + {y} = {t} years old.", A=first, B=second, x=x, y=y, t=x + y)
    s.code.append(f"together = {first.lower()} + {second.lower()}")
    s.step("{Name} is {t} + {k} = {c} years old.", t=x + y, k=k, c=x + y + k)
    s.code.append(f"{s.name.lower()} = together + {k}")
    s.var, s.value = s.name.lower(), x + y + k
    s.people.append((s.name, s.value))
    return True


def generate_ages(rng: random.Random, level: int, max_operand: int = 99, max_steps: int = 5) -> Problem:
    """A chain of people, each one's age given from the previous one or two; asks the last one's age.

    >>> p = generate_ages(random.Random(3), 3)
    >>> p.program.splitlines()[-1] == "print(" + p.question.split()[-1].rstrip("?").lower() + ")"
    True
    """
    def story(s: Story) -> bool:
        s.value, s.var = s.number(2, min(s.cap, 40)), s.name.lower()
        s.people.append((s.name, s.value))
        s.say("{Name} is {v} years old.", "{Name} turned {v} this year.", v=s.value)
        s.code.append(f"{s.var} = {s.value}")
        if not _tell(s, [(_relative, 1), (_sum_of_two, 2)], level):
            return False
        s.say("How old is {Name}?", "How many years old is {Name}?")
        return True
    return _write(rng, level, max_operand, max_steps, "ages", story)


# ---- travel ----------------------------------------------------------------------------------------

_PLACES = ["house", "school", "camp", "hotel", "office", "farm", "cabin", "station", "harbor", "library"]
_MOVES = [("rides", "bike"), ("drives", "car"), ("rides", "scooter"), ("walks", ""), ("skates", ""),
          ("runs", ""), ("rows", "boat")]


def _farther(s: Story) -> bool:
    k = s.number()
    if not _can_grow(s, k):
        return False
    s.say("{Name} then {verb} {k} km farther.", "{Name} goes another {k} km.", k=k)
    s.apply("+", k, "{Name} is {a} + {k} = {c} km from the {place}.")
    return True


def _back(s: Story) -> bool:
    k = _take(s)
    if k is None:
        return False
    s.say("{Name} turns around and {verb} {k} km back.", "{Name} goes {k} km back toward the {place}.", k=k)
    s.apply("-", k, "{Name} is {a} - {k} = {c} km from the {place}.")
    return True


def _halfway(s: Story) -> bool:
    if s.value % 2:
        return False
    s.say("{Name} {verb} halfway back to the {place}.", "{Name} turns and {verb} halfway back.")
    s.apply("/", 2, "{Name} is {a} / {k} = {c} km from the {place}.")
    return True


def _speed(s: Story) -> bool:
    return _product(s, ("{Name} {verb} on for {m} hours at {n} km per hour.",),
                    "{Name} covers {m} * {n} = {p} km.", "{Name} is {a} + {k} = {c} km from the {place}.", "+", "leg")


def generate_travel(rng: random.Random, level: int, max_operand: int = 99, max_steps: int = 5) -> Problem:
    """Distance from home along one road: legs out and back, speed times hours, halfway back.

    >>> "km" in generate_travel(random.Random(2), 2).question
    True
    """
    def story(s: Story) -> bool:
        s.words["verb"], vehicle = rng.choice(_MOVES)
        s.var, s.value = "distance", s.number()
        how = f" {{pos}} {vehicle}" if vehicle else ""
        s.words["place"] = rng.choice(_PLACES)
        s.say("{Name} {verb}" + how + " {v} km away from the {place}.", v=s.value)
        s.code.append(f"distance = {s.value}")
        if not _tell(s, [(_farther, 1), (_back, 1), (_halfway, 1), (_speed, 2)], level):
            return False
        s.say("How far is {Name} from the {place}, in km?")
        return True
    return _write(rng, level, max_operand, max_steps, "travel", story)


# ---- baking (sharing) ------------------------------------------------------------------------------

_TREATS = ["cookies", "cupcakes", "muffins", "brownies", "pancakes", "dumplings", "tarts", "rolls",
           "pretzels", "waffles", "scones", "biscuits"]


def _bake_more(s: Story) -> bool:
    k = s.number()
    if not _can_grow(s, k):
        return False
    s.say("{Name} bakes {k} more {unit}.", "{Name} makes another {k}.", k=k)
    s.apply("+", k, "There are {a} + {k} = {c} {unit}.")
    return True


def _eat(s: Story) -> bool:
    k = _take(s)
    if k is None:
        return False
    other, _ = _person(s.rng, s.taken)
    s.say("{Other} eats {k} of them.", "{Name} burns {k} {unit} and throws them away.", k=k, Other=other)
    s.apply("-", k, "There are {a} - {k} = {c} {unit}.")
    return True


def _trays(s: Story) -> bool:
    return _product(s, ("{Name} bakes {m} more trays with {n} {unit} on each.",),
                    "The trays hold {m} * {n} = {p} {unit}.", "There are {a} + {k} = {c} {unit}.", "+", "trays")


def generate_baking(rng: random.Random, level: int, max_operand: int = 99, max_steps: int = 5) -> Problem:
    """Treats baked, eaten and baked by the tray, then shared equally: the last step is always a division.

    >>> generate_baking(random.Random(0), 1).solution.splitlines()[0].startswith("Each")
    True
    """
    def story(s: Story) -> bool:
        s.unit = rng.choice(_TREATS)
        s.var, s.value = "treats", s.number(4)
        s.say("{Name} bakes {v} {unit}.", "{Name} makes {v} {unit} for a party.", v=s.value)
        s.code.append(f"treats = {s.value}")
        if not _tell(s, [(_bake_more, 1), (_eat, 1), (_trays, 2)], level - 1):
            return False
        k = _divisor(s)
        if k is None:
            return False
        s.say("{Name} gives {k} friends equal shares.", k=k)
        s.apply("/", k, "Each friend gets {a} / {k} = {c} {unit}.", var="each")
        s.say("How many {unit} does {Name} give each friend?")
        return True
    return _write(rng, level, max_operand, max_steps, "baking", story)


# ---- farm ------------------------------------------------------------------------------------------

_CROPS = [("tomato plants", "tomatoes"), ("apple trees", "apples"), ("pepper plants", "peppers"),
          ("lemon trees", "lemons"), ("bean plants", "beans"), ("melon plants", "melons"),
          ("pear trees", "pears"), ("squash plants", "squashes")]


def _wilt(s: Story) -> bool:
    k = _take(s)
    if k is None or "harvested" in s.flags:
        return False
    s.say("A storm kills {k} of {Name}'s {unit}.", "Rabbits eat {k} of {Name}'s {unit}.", k=k)
    s.apply("-", k, "{Name} has {a} - {k} = {c} {unit}.")
    return True


def _plant_more(s: Story) -> bool:
    k = s.number()
    if not _can_grow(s, k) or "harvested" in s.flags:
        return False
    s.say("{Name} plants {k} more {unit}.", k=k)
    s.apply("+", k, "{Name} has {a} + {k} = {c} {unit}.")
    return True


def _harvest(s: Story) -> bool:
    k = s.factor()
    if "harvested" in s.flags or s.value * k > s.limit:
        return False
    s.flags.add("harvested")
    plants, s.unit = s.unit, s.words["fruit"]
    s.say("Each one gives {Name} {k} {unit}.", k=k)
    s.apply("*", k, "{Name} picks {a} * {k} = {c} {unit}.", var="fruit")
    return True


def _sell(s: Story) -> bool:
    k = _take(s)
    if k is None or "harvested" not in s.flags:
        return False
    other, _ = _person(s.rng, s.taken)
    s.say("{Name} sells {k} {unit} to {Other}.", "{Other} buys {k} of the {unit}.", k=k, Other=other)
    s.apply("-", k, "{Name} has {a} - {k} = {c} {unit}.")
    return True


def generate_farm(rng: random.Random, level: int, max_operand: int = 99, max_steps: int = 5) -> Problem:
    """Rows of plants (the first step is rows * plants per row), losses, a harvest per plant, sales.

    >>> p = generate_farm(random.Random(0), 1)
    >>> " * " in p.solution.splitlines()[0]
    True
    """
    def story(s: Story) -> bool:
        s.unit, s.words["fruit"] = rng.choice(_CROPS)
        rows, per_row = s.factor(), s.number()
        s.say("{Name} plants {r} rows of {unit} with {n} in each row.", "{Name} has {r} rows of {n} {unit}.",
              r=rows, n=per_row)
        s.var, s.value = "plants", rows * per_row
        s.step("{Name} has {r} * {n} = {c} {unit}.", r=rows, n=per_row, c=s.value)
        s.code.append(f"plants = {rows} * {per_row}")
        if not _tell(s, [(_wilt, 1), (_plant_more, 1), (_harvest, 1), (_sell, 1)], level - 1):
            return False
        s.say("How many {unit} does {Name} have now?")
        return True
    return _write(rng, level, max_operand, max_steps, "farm", story)


# ---- shared driver ---------------------------------------------------------------------------------

def _write(rng: random.Random, level: int, max_operand: int, max_steps: int, subject: str,
           story: Callable[[Story], bool]) -> Problem:
    """Draw stories from `rng` until one reaches `level` steps with valid arithmetic; assemble it."""
    if not 1 <= level <= max_steps:
        raise ValueError(f"{BENCHMARK}/{subject}: level {level} outside 1..{max_steps} (world.gsm_max_steps)")
    cap = max(10, round(max_operand * level / max_steps))
    for _ in range(200):
        s = Story(rng=rng, cap=cap, mult=min(9, level + 2), limit=10 * max(max_operand, 10))
        s.name, s.pron = _person(rng, s.taken)
        if story(s) and len(s.steps) == level:
            s.code.append(f"print({s.var})")
            return assemble(BENCHMARK, subject, level, " ".join(s.sentences), s.steps, str(s.value), s.code,
                            "numeric")
    raise RuntimeError(f"{BENCHMARK}/{subject}: no valid level-{level} story in 200 draws "
                       f"(max_operand={max_operand} too small?)")


SCENARIOS: dict[str, Callable[..., Problem]] = {
    "collection": generate_collection,
    "shopping": generate_shopping,
    "ages": generate_ages,
    "travel": generate_travel,
    "baking": generate_baking,
    "farm": generate_farm,
}
