"""The gold solution's negative log-likelihood per token under the few-shot prompt: a measure for base models.

    from dsmath_lib.eval.nll import solution_nll
    solution_nll(model, tokenizer, problems, shots)        # list[float], nats per token, one per problem

A departure from the paper, which reports only accuracy: tiny models that solve almost nothing still differ
in how well they predict a correct solution, so notebooks 02 and 03 add this column (mode "nll" in the
records of eval.evaluate) to show a corpus's effect where accuracy sits at the floor. Every table says so.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from dsmath_lib.eval.prompting import few_shot_prompt
from dsmath_lib.problem import Problem


def solution_nll(model, tokenizer, problems: Sequence[Problem], shots: Sequence[Problem],
                 batch_size: int = 16) -> list[float]:
    """Mean negative log-likelihood (nats per token) of each problem's gold solution after its few-shot prompt.

    The scored text is " " + solution, exactly what follows "Answer:" in a few-shot example, so the number is
    the model's loss on a correct answer in the evaluation's own format.
    """
    prompts = [few_shot_prompt(p.question, shots) for p in problems]
    targets = [" " + p.solution.strip() for p in problems]
    out: list[float] = []
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(problems), batch_size):
            out += _batch_nll(model, tokenizer, prompts[start:start + batch_size], targets[start:start + batch_size])
    return out


def _batch_nll(model, tokenizer, prompts: list[str], targets: list[str]) -> list[float]:
    rows, spans = [], []
    for prompt, target in zip(prompts, targets):
        p = tokenizer(prompt)["input_ids"]
        t = tokenizer(target, add_special_tokens=False)["input_ids"]
        ids = (p + t)[-model.config.max_position_embeddings:]  # keep the solution when the prompt is too long
        rows.append(ids)
        spans.append((len(ids) - len(t), len(ids)))
    width = max(len(r) for r in rows)
    pad = tokenizer.pad_token_id
    device = next(model.parameters()).device
    ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows], device=device)  # (B, T), right-padded
    mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows], device=device)
    logp = torch.log_softmax(model(input_ids=ids, attention_mask=mask).logits[:, :-1].float(), dim=-1)
    token_logp = logp.gather(-1, ids[:, 1:, None])[..., 0]  # (B, T-1): log p(token t+1 | prefix)
    return [float(-token_logp[i, lo - 1:hi - 1].mean()) for i, (lo, hi) in enumerate(spans)]
