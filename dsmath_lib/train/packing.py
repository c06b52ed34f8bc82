"""Packed training data: token documents and SFT examples cut into fixed-length rows, saved as .npy.

    from dsmath_lib.train.packing import pack_documents, pack_sft, write_packed, read_packed
    ids = pack_documents((tok(text)["input_ids"] for text in texts), length=512, eos_id=tok.eos_token_id)
    ids, loss_mask = pack_sft(tok, [(prompt, response, [(start, end), ...]), ...], length=512)
    write_packed("artifacts/tiny/packed/math.npy", ids, source="mined corpus, iteration 4")
    data = read_packed("artifacts/tiny/packed/math.npy")       # data.ids: (rows, length), memory-mapped

Pretraining rows (paper §2): documents, each starting with BOS as our tokenizer encodes them, are joined
end to end with an EOS after each, and the stream is cut into rows of `length`; a document may run over
into the next row and the ragged tail is dropped. SFT rows (paper §3: examples "concatenated to the
context length"): prompt + response + EOS, packed next-fit into rows without splitting an example, the
loss mask 1 on response tokens except tool outputs the harness inserts, rows padded with PAD (mask 0).

On disk, for `x.npy`: x.npy holds the ids (int32, rows x length), x.mask.npy the loss mask (uint8) when
there is one, and x.json the metadata (length, rows, tokens, loss_tokens, source). Each file is written
atomically and the JSON last, so a dataset without its JSON is one whose writing did not finish.

Departure from the paper: none in the format; packed rows carry no cross-document attention mask (one
document attends to the previous one in its row), as in most pretraining code; the paper does not say.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from transformers import PreTrainedTokenizerBase

ID_DTYPE = np.int32  # vocabularies up to 2^31: our 1K BPE and the 100K hub tokenizers alike
MASK_DTYPE = np.uint8


def pack_documents(docs: Iterable[list[int]], length: int, eos_id: int) -> np.ndarray:
    """Join token documents with an EOS after each and cut the stream into rows of `length`.

    >>> pack_documents([[1, 5, 6], [1, 7], [1, 8, 9]], length=4, eos_id=2)  # the tail 8 9 EOS is dropped
    array([[1, 5, 6, 2],
           [1, 7, 2, 1]], dtype=int32)
    """
    if length < 2:
        raise ValueError(f"pack_documents: length must be >= 2 (one input and one target), got {length}")
    chunks = []
    for doc in docs:
        chunks.append(np.asarray(doc, dtype=ID_DTYPE))
        chunks.append(np.array([eos_id], dtype=ID_DTYPE))
    stream = np.concatenate(chunks) if chunks else np.zeros(0, dtype=ID_DTYPE)
    rows = len(stream) // length  # the ragged tail is dropped: a short row would need padding
    return stream[: rows * length].reshape(rows, length)


def sft_tokens(tokenizer: PreTrainedTokenizerBase,
               examples: Sequence[tuple[str, str, Sequence[tuple[int, int]]]]) -> Iterator[tuple[list[int], list[int]]]:
    """(ids, loss_mask) per example: BOS + prompt, then response + EOS with the response trained on.

    Prompt and response are tokenised apart, as the sampler sees them (a prompt, then generated tokens),
    so no token straddles the boundary. A response token is masked (0) when its characters overlap any
    of the example's masked spans, (start, end) half-open character offsets into the response: tool
    outputs the model must not learn to write. EOS is appended (and trained on) unless the response already ends with it.
    Tokenises in batches (the fast tokenizer's batch call runs in parallel).
    """
    eos = tokenizer.eos_token_id
    for lo in range(0, len(examples), 1024):
        batch = examples[lo: lo + 1024]
        for i, example in enumerate(batch):
            if len(example) != 3:
                raise ValueError(f"SFT example {lo + i} must be (prompt, response, masked_spans), "
                                 f"got {len(example)} items")
        prompts = tokenizer([p for p, _, _ in batch])["input_ids"]  # our tokenizer prepends BOS
        responses = tokenizer([r for _, r, _ in batch], add_special_tokens=False, return_offsets_mapping=True)
        for prompt_ids, resp_ids, offsets, (_, _, spans) in zip(
                prompts, responses["input_ids"], responses["offset_mapping"], batch):
            mask = [0 if any(a < end and b > start for start, end in spans) else 1 for a, b in offsets]
            resp_ids = list(resp_ids)
            if not resp_ids or resp_ids[-1] != eos:
                resp_ids.append(eos)
                mask.append(1)  # learning to stop is part of the answer
            yield list(prompt_ids) + resp_ids, [0] * len(prompt_ids) + mask


def pack_sft(tokenizer: PreTrainedTokenizerBase, examples: Sequence[tuple[str, str, list[tuple[int, int]]]],
             length: int) -> tuple[np.ndarray, np.ndarray]:
    """Pack (prompt, response, masked_char_spans) examples into (ids, loss_mask), each (rows, length).

    Next-fit: an example goes into the current row if it fits, else it starts a new row, so examples
    keep their order and are never split. An example longer than `length` is truncated to `length`
    (a warning gives the count). Rows are padded with PAD, whose mask is 0.
    """
    if length < 2:
        raise ValueError(f"pack_sft: length must be >= 2, got {length}")
    rows_ids, rows_mask, cur_ids, cur_mask, truncated = [], [], [], [], 0
    for ids, mask in sft_tokens(tokenizer, examples):
        if len(ids) > length:
            ids, mask, truncated = ids[:length], mask[:length], truncated + 1
        if len(cur_ids) + len(ids) > length:
            rows_ids.append(cur_ids)
            rows_mask.append(cur_mask)
            cur_ids, cur_mask = [], []
        cur_ids, cur_mask = cur_ids + ids, cur_mask + mask
    if cur_ids:
        rows_ids.append(cur_ids)
        rows_mask.append(cur_mask)
    if truncated:
        warnings.warn(f"pack_sft: {truncated} of {len(examples)} examples were longer than {length} tokens "
                      "and were truncated", stacklevel=2)
    ids_arr = np.full((len(rows_ids), length), tokenizer.pad_token_id, dtype=ID_DTYPE)
    mask_arr = np.zeros((len(rows_ids), length), dtype=MASK_DTYPE)
    for r, (ids, mask) in enumerate(zip(rows_ids, rows_mask)):
        ids_arr[r, : len(ids)] = ids
        mask_arr[r, : len(mask)] = mask
    return ids_arr, mask_arr


@dataclass
class PackedData:
    """A packed dataset as read back: `ids` (rows, length) int32, memory-mapped; `loss_mask` alike or None."""

    path: Path
    ids: np.ndarray
    loss_mask: np.ndarray | None
    length: int
    rows: int
    tokens: int
    loss_tokens: int
    source: str


def packed_files(path: str | Path) -> tuple[Path, Path, Path]:
    """(ids .npy, mask .npy, metadata .json) of the dataset at `path` (with or without the .npy suffix)."""
    path = Path(path)
    stem = path.with_suffix("") if path.suffix == ".npy" else path
    return tuple(stem.with_name(stem.name + suffix) for suffix in (".npy", ".mask.npy", ".json"))


def write_packed(path: str | Path, ids: np.ndarray, loss_mask: np.ndarray | None = None, source: str = "") -> Path:
    """Write a packed dataset atomically (see the module docstring for the files); returns the ids path."""
    ids = np.asarray(ids)
    if ids.ndim != 2 or ids.shape[0] == 0:
        raise ValueError(f"write_packed {path}: ids must be a non-empty (rows, length) array, got shape {ids.shape}")
    if loss_mask is not None and np.shape(loss_mask) != ids.shape:
        raise ValueError(f"write_packed {path}: loss_mask shape {np.shape(loss_mask)} != ids shape {ids.shape}")
    ids_path, mask_path, meta_path = packed_files(path)
    ids_path.parent.mkdir(parents=True, exist_ok=True)
    meta_path.unlink(missing_ok=True)  # from here until the JSON is back, the dataset reads as unfinished
    _save_npy(ids_path, ids.astype(ID_DTYPE, copy=False))
    if loss_mask is not None:
        _save_npy(mask_path, np.asarray(loss_mask).astype(MASK_DTYPE, copy=False))
    else:
        mask_path.unlink(missing_ok=True)
    rows, length = ids.shape
    meta = {"length": int(length), "rows": int(rows), "tokens": int(ids.size),
            "loss_tokens": int(ids.size if loss_mask is None else np.count_nonzero(loss_mask)),
            "has_mask": loss_mask is not None, "source": source}
    _atomic_write(meta_path, lambda f: f.write(json.dumps(meta, indent=1).encode() + b"\n"))
    return ids_path


def read_packed(path: str | Path) -> PackedData:
    """Read a dataset written by `write_packed`, memory-mapped; errors name the missing or malformed file."""
    ids_path, mask_path, meta_path = packed_files(path)
    if not meta_path.is_file():
        raise FileNotFoundError(f"{meta_path}: packed-data metadata missing (not written, or its writing was "
                                "interrupted); rerun the step that packs this data")
    try:
        meta = json.loads(meta_path.read_text())
        length, rows, has_mask = int(meta["length"]), int(meta["rows"]), bool(meta["has_mask"])
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{meta_path}: malformed packed-data metadata ({err!r})") from err
    ids = _load_npy(ids_path, (rows, length))
    mask = _load_npy(mask_path, (rows, length)) if has_mask else None
    return PackedData(path=ids_path, ids=ids, loss_mask=mask, length=length, rows=rows, tokens=rows * length,
                      loss_tokens=int(meta.get("loss_tokens", rows * length)), source=str(meta.get("source", "")))


def _load_npy(path: Path, shape: tuple[int, int]) -> np.ndarray:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: packed-data array missing (its .json says it exists)")
    try:
        arr = np.load(path, mmap_mode="r")
    except (ValueError, OSError, EOFError) as err:
        raise ValueError(f"{path}: not a readable .npy array ({err})") from err
    if arr.shape != shape:
        raise ValueError(f"{path}: shape {arr.shape} does not match its metadata {shape}")
    return arr


def _save_npy(path: Path, arr: np.ndarray) -> None:
    _atomic_write(path, lambda f: np.save(f, arr))


def _atomic_write(path: Path, write) -> None:
    """Write through `write(file)` to a temporary sibling, then rename over `path`."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            write(f)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
