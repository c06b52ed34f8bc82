"""The paper's numbers that our tables put beside ours (docs/PAPER.md, from arXiv 2402.03300), in percent.

    from dsmath_lib.paper_numbers import TABLE1, TABLE2_3_BASE, TABLE6_7, TABLE8, TABLE5
    TABLE1["DeepSeekMath Corpus (120.2B)"]["GSM8K"]      # 23.8

Each table maps the paper's row label to {column: value}. Columns the simulated world has no analogue of
(OCW, SAT, MMLU-STEM) stay here so a reader sees the whole row; our tables show "n/a" for them.
"""

from __future__ import annotations

TABLE1 = {  # §2.2, Table 1: a 1.3B model trained on 150B tokens of each corpus; few-shot CoT
    "No Math Training": {"GSM8K": 2.9, "MATH": 3.0, "OCW": 2.9, "SAT": 15.6, "MMLU-STEM": 19.5},
    "MathPile (8.9B)": {"GSM8K": 2.7, "MATH": 3.3, "OCW": 2.2, "SAT": 12.5, "MMLU-STEM": 15.7},
    "OpenWebMath (13.6B)": {"GSM8K": 11.5, "MATH": 8.9, "OCW": 3.7, "SAT": 31.3, "MMLU-STEM": 29.6},
    "Proof-Pile-2 (51.9B)": {"GSM8K": 14.3, "MATH": 11.2, "OCW": 3.7, "SAT": 43.8, "MMLU-STEM": 29.2},
    "DeepSeekMath Corpus (120.2B)": {"GSM8K": 23.8, "MATH": 13.6, "OCW": 4.8, "SAT": 56.3, "MMLU-STEM": 33.1},
}

TABLE6_7 = {  # §5.1.1, Tables 6-7: 1.3B, code and math staging; "+Python" is few-shot program-of-thought
    "No Continual Training": {"GSM8K": 2.9, "MATH": 3.0, "GSM8K+Python": 2.7, "MATH+Python": 2.3,
                              "HumanEval": 12.2, "MBPP": 13.0},
    "General 400B, then Math 150B": {"GSM8K": 19.1, "MATH": 14.4, "GSM8K+Python": 14.3, "MATH+Python": 6.7,
                                     "HumanEval": 12.8, "MBPP": 13.2},
    "Code 400B, then Math 150B": {"GSM8K": 21.9, "MATH": 15.3, "GSM8K+Python": 17.4, "MATH+Python": 9.4,
                                  "HumanEval": 12.2, "MBPP": 17.0},
    "One stage: Math 150B": {"GSM8K": 20.5, "MATH": 13.1, "GSM8K+Python": 11.4, "MATH+Python": 6.5,
                             "HumanEval": 11.6, "MBPP": 13.2},
    "One stage: Code 400B + Math 150B": {"GSM8K": 17.6, "MATH": 12.1, "GSM8K+Python": 19.7, "MATH+Python": 13.5,
                                         "HumanEval": 29.3, "MBPP": 39.4},
}

TABLE8 = {  # §5.1.2, Table 8: 1.3B trained on arXiv papers only (docs/PAPER.md gives GSM8K and MATH)
    "No Math Training": {"GSM8K": 2.9, "MATH": 3.0},
    "arXiv only": {"GSM8K": 3.3, "MATH": 3.4},
}

TABLE2_3_BASE = {  # §2.3, Tables 2-3: DeepSeekMath-Base 7B (500B tokens of the base mix), few-shot CoT and PoT
    "DeepSeekMath-Base 7B": {"GSM8K": 64.2, "MATH": 36.2, "GSM8K+Python": 66.9, "MATH+Python": 31.4},
}

TABLE5 = [  # §6 Table 5 (top-1, %) and Table 2's base row (few-shot CoT): (setting, model, GSM8K, MATH)
    ("few-shot CoT", "DeepSeekMath-Base 7B", 64.2, 36.2),
    ("CoT", "DeepSeekMath-Instruct 7B", 82.9, 46.8),
    ("CoT", "DeepSeekMath-RL 7B", 88.2, 51.7),
    ("tool-integrated", "DeepSeekMath-Instruct 7B", 83.7, 57.4),
    ("tool-integrated", "DeepSeekMath-RL 7B", 86.7, 58.8),
]
MATH_MAJ64_RL = 60.9  # §6: self-consistency over 64 samples on MATH (DeepSeekMath-RL 7B)
