"""RL rollouts: G sampled outputs per question as padded tensors, and per-token log-probs under any model.

    from dsmath_lib.rl.rollout import make_sampler, rollout, token_logprobs
    sample = make_sampler("sampler", policy, tokenizer, batch_size=64)
    batch = rollout(sample, tokenizer, problems, group_size=8, max_new_tokens=160, temperature=1.0, seed=0)
    batch.texts, batch.problems         # N = B * G outputs, grouped per question, for the reward
    ids, attention_mask, completion_mask = batch.tensors(pad_id=tokenizer.pad_token_id)
    # ids (N, P + T): left-padded prompt, right-padded completion; completion_mask (N, T): 1 on sampled tokens
    logp = token_logprobs(policy, ids, attention_mask, completion_mask)                      # (N, T)

Prompts are the zero-shot chat CoT prompt of the evaluation (dsmath_lib.chat.chat_prompt with COT_SUFFIX),
so RL trains on exactly what notebook 07 measures. Outputs i * G .. i * G + G - 1 are question i's group.

`token_logprobs` is the one way log pi(o_t | q, o_<t) is computed, for the old, the reference and the current
policy alike, at temperature 1 (the policy's own distribution): the sampler's logprobs are tempered and
exclude pad/bos, so they are never used in the loss. Position ids count real tokens, as the sampler's do,
so left padding does not shift positions between rollout and update. Rows sharing a prompt (a group) run
that prompt once and share its keys and values (with gradients): the same numbers as a full forward per
row, without G copies of the prompt's work (tests/test_rl_rollout.py checks values and gradients).

Engines: "sampler" is dsmath_lib.sampling.generate (batched, KV cache); "vllm" (params grpo.rollout_engine,
gpu/paper scale) is a colocated vLLM engine whose weights are refreshed from the policy before every
rollout. Departure at small scale: the paper's rollouts come from large inference engines; the tiny
scales use the CPU sampler, which is also the reference the tests check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import DynamicCache

from dsmath_lib.chat import COT_SUFFIX, chat_prompt
from dsmath_lib.problem import Problem
from dsmath_lib.sampling import generate, left_pad, never_sampled, position_ids

# sample(prompts, n, max_new_tokens, temperature, seed) -> [(token_ids, text)], n per prompt, grouped
SampleFn = Callable[[list[str], int, int, float, int], list[tuple[list[int], str]]]


@dataclass
class Rollout:
    """G outputs for each of B questions as token lists, N = B * G rows (group i is rows i*G .. i*G+G-1).

    Kept as lists so that groups can be dropped (DAPO) and rows re-batched; `tensors()` pads any subset."""

    problems: list[Problem]  # (N,) the question of each row
    prompt_ids: list[list[int]]  # (N,) the prompt tokens, <|bos|> first
    completion_ids: list[list[int]]  # (N,) the sampled tokens, <|eos|> included when the output ended
    texts: list[str]  # (N,) completion text without <|eos|>: what the reward reads
    group_size: int

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def lengths(self) -> list[int]:
        return [len(c) for c in self.completion_ids]  # |o_i|

    def tensors(self, rows: Sequence[int] | None = None, pad_id: int = 0):
        """(ids (n, P + T), attention_mask (n, P + T), completion_mask (n, T)) of `rows` (default all)."""
        rows = range(len(self)) if rows is None else rows
        return pad_rollout([self.prompt_ids[i] for i in rows], [self.completion_ids[i] for i in rows], pad_id)

    @staticmethod
    def concat(parts: Sequence[Rollout], group_size: int) -> Rollout:
        """Rows of several rollouts, in order (DAPO's dynamic sampling collects groups over rounds)."""
        return Rollout([x for r in parts for x in r.problems], [x for r in parts for x in r.prompt_ids],
                       [x for r in parts for x in r.completion_ids], [x for r in parts for x in r.texts],
                       group_size)

    def groups(self, keep: Sequence[int]) -> Rollout:
        """The rows of the groups numbered `keep`."""
        g = self.group_size
        rows = [i * g + j for i in keep for j in range(g)]
        return Rollout([self.problems[i] for i in rows], [self.prompt_ids[i] for i in rows],
                       [self.completion_ids[i] for i in rows], [self.texts[i] for i in rows], g)


def make_sampler(engine: str, policy, tokenizer, batch_size: int = 64, workdir: str | Path = ".") -> SampleFn:
    """The rollout engine named by params grpo.rollout_engine: "sampler" (ours) or "vllm"."""
    if engine == "sampler":
        def sample(prompts, n, max_new_tokens, temperature, seed):
            outs = generate(policy, tokenizer, prompts, max_new_tokens=max_new_tokens, temperature=temperature,
                            num_samples=n, seed=seed, batch_size=batch_size)
            return [(o.token_ids, o.text) for o in outs]
        return sample
    if engine == "vllm":
        return _vllm_sampler(policy, tokenizer, Path(workdir))
    raise ValueError(f"grpo.rollout_engine = {engine!r}: choose 'sampler' or 'vllm'")


def _vllm_sampler(policy, tokenizer, workdir: Path) -> SampleFn:
    """A colocated vLLM engine started from a copy of the policy; weights re-synced before each rollout."""
    try:
        import vllm
    except ImportError as err:
        raise ImportError("params grpo.rollout_engine = 'vllm' needs the vllm package (a GPU machine: "
                          "pip install vllm); set grpo.rollout_engine: sampler for the built-in sampler") from err
    from dsmath_lib.model import save_model

    path = save_model(policy, tokenizer, workdir / "vllm-start")
    llm = vllm.LLM(model=str(path), gpu_memory_utilization=0.3)
    never = {i: -100.0 for i in never_sampled(tokenizer, {tokenizer.eos_token_id})}

    def sample(prompts, n, max_new_tokens, temperature, seed):
        engine_model = llm.llm_engine.model_executor.driver_worker.model_runner.model  # trl's colocate sync
        engine_model.load_weights(policy.state_dict().items())
        params = vllm.SamplingParams(n=n, temperature=temperature, max_tokens=max_new_tokens, seed=seed,
                                     logit_bias=never)
        outs = llm.generate([{"prompt_token_ids": ids} for ids in tokenizer(prompts)["input_ids"]], params,
                            use_tqdm=False)
        return [(list(c.token_ids), c.text) for o in outs for c in o.outputs]
    return sample


def rollout(sample: SampleFn, tokenizer, problems: Sequence[Problem], group_size: int, *, max_new_tokens: int,
            temperature: float = 1.0, seed: int = 0) -> Rollout:
    """Sample `group_size` outputs per problem from the chat CoT prompt (the evaluation's prompt)."""
    prompts = [chat_prompt(p.question, COT_SUFFIX) for p in problems]
    outs = sample(prompts, group_size, max_new_tokens, temperature, seed)  # (B * G,) grouped per prompt
    if len(outs) != len(prompts) * group_size:
        raise RuntimeError(f"rollout: the engine returned {len(outs)} outputs for {len(prompts)} x {group_size}")
    prompt_ids = tokenizer(prompts)["input_ids"]  # the sampler's own encoding of the prompts
    rows = [i // group_size for i in range(len(outs))]
    return Rollout([problems[i] for i in rows], [prompt_ids[i] for i in rows], [list(o[0]) for o in outs],
                   [o[1] for o in outs], group_size)


def pad_rollout(prompts: list[list[int]], completions: list[list[int]], pad_id: int):
    """(ids, attention_mask, completion_mask): prompts left-padded to P, completions right-padded to T, on the CPU.

    >>> ids, att, comp = pad_rollout([[1, 5], [1]], [[7], [8, 9]], pad_id=0)
    >>> ids.tolist(), att.tolist(), comp.tolist()
    ([[1, 5, 7, 0], [0, 1, 8, 9]], [[1, 1, 1, 0], [0, 1, 1, 1]], [[1.0, 0.0], [1.0, 1.0]])
    """
    p_ids, p_mask, _ = left_pad(prompts, pad_id)  # (N, P)
    width = max(1, max(len(c) for c in completions))
    c_ids = torch.full((len(completions), width), pad_id, dtype=torch.long)
    c_mask = torch.zeros((len(completions), width))
    for i, c in enumerate(completions):
        c_ids[i, : len(c)] = torch.tensor(c, dtype=torch.long)
        c_mask[i, : len(c)] = 1.0
    return torch.cat([p_ids, c_ids], 1), torch.cat([p_mask, c_mask.long()], 1), c_mask


def token_logprobs(model, ids: torch.Tensor, attention_mask: torch.Tensor, completion_mask: torch.Tensor,
                   return_entropy: bool = False):
    """log pi(o_t | q, o_<t) of the completion tokens (the last T columns of ids) at temperature 1.

    ids, attention_mask: (N, P + T); completion_mask: (N, T), all on the model's device (pad_rollout makes them on
    the CPU: the trainers move them). Returns logp (N, T) float32, 0 on padding, with grad when the model has it;
    with return_entropy also the policy's entropy at each completion position (N, T), no grad.

    Rows that share a prompt (a GRPO group) share its forward pass: each distinct prompt runs once, its keys
    and values are indexed out to its rows (gradients flow back through the indexing), and only the
    completions run per row. The result is the plain full-sequence forward's, with G times less prompt work.
    """
    T = completion_mask.size(1)
    P = ids.size(1) - T
    pos = position_ids(attention_mask)  # (N, P + T) real tokens count from 0, as in sampling
    prompts, row_prompt = torch.unique(ids[:, :P], dim=0, return_inverse=True)  # (U, P), (N,)
    if len(prompts) == len(ids) or P == 0:  # nothing shared: one full-sequence forward
        out = model(input_ids=ids, attention_mask=attention_mask, position_ids=pos, logits_to_keep=T + 1)
        logits = out.logits[:, :-1].float()  # (N, T, V): the position before each completion token predicts it
    else:
        rows = torch.arange(len(ids), device=ids.device)  # (N,)
        first = torch.full((len(prompts),), len(ids), device=ids.device).scatter_reduce(0, row_prompt, rows, "amin")
        cache = DynamicCache(config=model.config)
        head = model(input_ids=ids[first, :P], attention_mask=attention_mask[first, :P], position_ids=pos[first, :P],
                     past_key_values=cache, use_cache=True, logits_to_keep=1)  # (U, 1, V): predicts o_0
        cache.batch_select_indices(row_prompt)  # (U, heads, P, d) -> (N, heads, P, d)
        tail = model(input_ids=ids[:, P:], attention_mask=attention_mask, position_ids=pos[:, P:],
                     past_key_values=cache, use_cache=True)  # (N, T, V): o_t predicts o_t+1
        logits = torch.cat([head.logits[row_prompt], tail.logits[:, :-1]], 1).float()  # (N, T, V)
    target = ids[:, -T:]  # (N, T)
    lse = torch.logsumexp(logits, -1)  # (N, T)
    logp = (logits.gather(-1, target[..., None]).squeeze(-1) - lse) * completion_mask
    if not return_entropy:
        return logp
    with torch.no_grad():
        entropy = (lse - (torch.softmax(logits, -1) * logits).sum(-1)) * completion_mask  # H = lse - E_p[logit]
    return logp, entropy
