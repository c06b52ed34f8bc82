"""The reference engine: the HF model's forward with a DynamicCache, every row prefilled, computed and decoded
every step until the batch ends. It runs any causal LM, and it is what the tests check the lean engine against."""

from __future__ import annotations

import torch
from transformers import DynamicCache

from dsmath_lib.sampling.decoding import Decoding, find_stop, left_pad, pick_next


def reference_batch(model, tokenizer, rows, d: Decoding, uniforms):
    """Sample continuations for one batch of prompt token lists; returns [(ids, logprobs, reason)].

    uniforms (B, max_new_tokens) is the rows' random stream (None when greedy)."""
    device = d.eos.device  # the model's
    ids, mask, pos = (t.to(device) for t in left_pad(rows, d.pad_id))
    n = len(rows)
    cache = DynamicCache(config=model.config)
    out = model(input_ids=ids, attention_mask=mask, position_ids=pos, past_key_values=cache, use_cache=True,
                logits_to_keep=1)
    next_pos = pos[:, -1] + 1  # (B,) position of the token about to be generated
    new_tokens, new_logps = [], []  # one (B,) tensor per step
    reason = [""] * n  # "" while a row is live
    n_live = [0] * n  # tokens each row generated before it finished
    for step in range(d.max_new_tokens):
        logits = out.logits[:, -1, :].index_fill(-1, d.never, float("-inf"))  # (B, V), pad/bos impossible
        tokens, logps = pick_next(logits, d.temperature, d.top_p, None if uniforms is None else uniforms[:, step])
        done = torch.tensor([r != "" for r in reason], device=device)
        tokens = tokens.masked_fill(done, d.pad_id)  # finished rows stop growing: padding, dropped at the end
        new_tokens.append(tokens)
        new_logps.append(logps)
        live = [i for i in range(n) if not reason[i]]
        for i in live:
            n_live[i] += 1
        for i in torch.nonzero(~done & torch.isin(tokens, d.eos)).flatten().tolist():
            reason[i] = "eos"
        if d.stop:
            tail = torch.stack(new_tokens[-d.stop_window :], dim=1)  # (B, <=window): only new text can match
            for i in live:
                if not reason[i] and find_stop(tokenizer.decode(tail[i].tolist()), d.stop) >= 0:
                    reason[i] = "stop"
        if all(reason) or step == d.max_new_tokens - 1:
            break
        mask = torch.cat([mask, mask.new_ones((n, 1))], dim=1)
        out = model(input_ids=tokens[:, None], attention_mask=mask, position_ids=next_pos[:, None],
                    past_key_values=cache, use_cache=True)
        next_pos = next_pos + 1
    tokens, logps = torch.stack(new_tokens, 1), torch.stack(new_logps, 1)  # (B, T)
    return [
        (tokens[i, : n_live[i]].tolist(), logps[i, : n_live[i]].cpu(), reason[i] or "length") for i in range(n)
    ]
