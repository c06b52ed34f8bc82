"""The embedded math world: deterministic GSM8K-like and MATH-like problems with CoT, programs and answers.

    from dsmath_lib.config import WorldConfig
    from dsmath_lib.synth import generate_world, benchmark, check_disjoint
    world = generate_world(WorldConfig(seed=0, n_train=20_000, n_test=500))
    check_disjoint(world.train, [p for ps in world.test.values() for p in ps])
    benchmark(WorldConfig(), "synth-gsm")[0].question

Modules: arithmetic (synth-gsm word problems, level = steps), mathlike (synth-math: algebra, fractions,
number theory, counting, levels 1-5), assemble (solution and answer-line format, program runner), overlap
(exact / n-gram train-test overlap), world (splits and seeds). The web crawl lives in synth/crawl.py.

Knobs (params `world:` section, WorldConfig): seed; n_train (per benchmark); n_test (per benchmark);
gsm_max_steps (synth-gsm levels 1..gsm_max_steps, one arithmetic step per level); max_operand (largest
starting number at the top level; level L uses about max_operand * L / top level, at least 10 or 12);
math_levels (synth-math levels 1..math_levels, at most 5); ngram (the overlap window, 10 as in the paper).

Departure from the paper: GSM8K and MATH are replaced by generated problems so that the laptop scales
need no network and every problem has a checked program and answer; see arithmetic.py and mathlike.py
for how each family simplifies its original.
"""

from dsmath_lib.synth.arithmetic import (SCENARIOS, generate_ages, generate_baking, generate_collection,
                                         generate_farm, generate_shopping, generate_travel)
from dsmath_lib.synth.mathlike import (FAMILIES, generate_algebra, generate_counting, generate_fractions,
                                       generate_number_theory)
from dsmath_lib.synth.overlap import check_disjoint
from dsmath_lib.synth.world import BENCHMARKS, World, benchmark, generate_world

__all__ = [
    "BENCHMARKS", "FAMILIES", "SCENARIOS", "World", "benchmark", "check_disjoint", "generate_world",
    "generate_ages", "generate_algebra", "generate_baking", "generate_collection", "generate_counting",
    "generate_farm", "generate_fractions", "generate_number_theory", "generate_shopping", "generate_travel",
]
