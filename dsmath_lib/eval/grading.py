"""Answer extraction and grading: find a model's final answer and decide whether it equals the gold one.

    from dsmath_lib.eval.grading import extract_answer, is_equiv, grade_many
    extract_answer("... so $x = \\boxed{\\frac{1}{2}}$.", "latex")    # '\\frac{1}{2}'
    is_equiv("0.5", "\\frac12")                                     # True (symbolic, via math-verify)
    grade_many(preds, golds, workers=2)                             # list[bool], with a progress bar

Grading follows the paper's harness (docs/PAPER.md §7) in three tiers, cheapest first:
1. numeric: both sides read as numbers (commas, $, %, units and \\text{...} stripped) and agree within 1e-3;
2. string: the normalized strings are equal (MATH-style normalization: \\left/\\right, dfrac, spaces, ...);
3. symbolic: math-verify 0.9.0 (pinned) parses both and compares them with sympy.
Tier 3 can hang on a pathological expression, and math-verify's own timeout uses signal.alarm, which
only works on the main thread (elsewhere every answer would silently score 0, docs/PAPER.md §7). So tier 3 runs
with math-verify's timeouts disabled inside persistent worker processes (`python -m
dsmath_lib.eval.grading --worker`, over plain pipes, so it works from threads and from daemonic worker
processes alike); a call that exceeds its time limit has its worker killed and replaced, and counts as
wrong, with a warning in the log.
"""

from __future__ import annotations

import atexit
import json
import logging
import math
import os
import queue
import re
import select
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from tqdm.auto import tqdm

from dsmath_lib.problem import last_boxed  # the boxed-answer format every MATH-like solution has

log = logging.getLogger(__name__)

NUMERIC_TOL = 1e-3  # the paper's harness: numbers within 1e-3 are equal (docs/PAPER.md §7), absolute
DEFAULT_TIMEOUT_S = 5.0  # per symbolic comparison; math-verify's own default is 5 s too
_WORKER_MEMORY_BYTES = 4 << 30  # a runaway sympy expansion fails with MemoryError, not the machine
_WORKER_START_S = 120.0  # a worker's imports, on a machine busy with other work


# ---------------------------------------------------------------------------------------------------------
# Extraction


_ANSWER_IS = re.compile(r"the\s+(?:final\s+)?answer\s+is\s*:?\s*", re.IGNORECASE)
_NUMBER = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|-?\.\d+")


def _clean_span(span: str) -> str:
    """Trim an answer phrase: first line, surrounding $...$ and a sentence-final period."""
    span = span.strip().split("\n")[0].strip()
    span = re.sub(r"\.\s*$", "", span).strip()
    if len(span) >= 2 and span[0] == "$" and span[-1] == "$":
        span = span.strip("$").strip()
    return re.sub(r"\.$", "", span).strip()


def first_answer_line(text: str) -> str:
    """The text up to the end of its first line that states an answer (a \\boxed{} or "the answer is"), or all
    of it when no line does.

    How a few-shot completion is read: the shots show one worked answer per question, so what a base model
    writes after its first answer (another "Example 2. ..." it makes up, as a model trained only on pages of
    worked examples does) answers other questions and is not graded. A real base model usually stops there
    at the shots' "\\nQuestion:" anyway.

    >>> first_answer_line(" 2 + 3 = 5\\nTherefore the answer is $5$.\\nExample 2. What is 1 + 1?\\nThe answer is 2.")
    ' 2 + 3 = 5\\nTherefore the answer is $5$.'
    >>> first_answer_line("x = 4\\nso x is 4")
    'x = 4\\nso x is 4'
    """
    hit = _ANSWER_IS.search(text)
    boxed = text.find("\\boxed")
    starts = [i for i in (hit.start() if hit else -1, boxed) if i >= 0]
    if not starts:
        return text
    end = text.find("\n", min(starts))
    return text if end < 0 else text[:end]


def extract_answer(text: str | None, kind: str = "latex") -> str | None:
    """The final answer in a model output, or None when there is none.

    Looks, in this order, for the last \\boxed{...}, the last "The answer is ...", the last "#### ...",
    and finally the last number in the text. For kind="numeric" an answer phrase other than a number or a
    plain fraction is reduced to its last number ("The answer is $18 per day." gives "18").

    >>> extract_answer("The answer is $\\\\frac{3}{4}$.")
    '\\\\frac{3}{4}'
    >>> extract_answer("She makes 9 * 2 = $18.\\n#### 18", "numeric")
    '18'
    >>> extract_answer("so 3 + 4 = 7 apples", "numeric")
    '7'
    """
    if not text:
        return None
    answer = last_boxed(text)
    if answer is None:
        hits = list(_ANSWER_IS.finditer(text))
        if hits:
            answer = _clean_span(text[hits[-1].end():]) or None
    if answer is None:
        hits = list(re.finditer(r"####\s*", text))
        if hits:
            answer = _clean_span(text[hits[-1].end():]) or None
    if answer is None or (kind == "numeric" and not _NUMBER.fullmatch(answer)
                          and not (("/" in answer or "\\frac" in answer) and to_number(answer) is not None)):
        numbers = _NUMBER.findall(text if answer is None else answer)
        if numbers:
            answer = numbers[-1]
    return answer or None


# ---------------------------------------------------------------------------------------------------------
# Normalization and the numeric / string tiers


def _fix_fracs(s: str) -> str:
    """\\frac12 -> \\frac{1}{2}, \\frac1{x} -> \\frac{1}{x}: single-token arguments get braces."""
    return re.sub(r"\\frac\s*([^{\s\\])\s*([^{\s\\])", r"\\frac{\1}{\2}",
                  re.sub(r"\\frac\s*([^{\s\\])\s*\{", r"\\frac{\1}{", s))


def normalize_answer(answer: str) -> str:
    """A canonical string for an answer, in the spirit of the MATH paper's `strip_string`.

    >>> normalize_answer("\\\\left( 3, \\\\dfrac{\\\\pi}{2} \\\\right)")
    '(3,\\\\frac{\\\\pi}{2})'
    >>> normalize_answer("x = 10\\\\%")
    '10'
    """
    s = answer.strip()
    s = re.sub(r"\\(?:text|textbf|mbox|mathrm)\{\s*\}", "", s)
    s = re.sub(r"\^\s*\{?\\circ\}?|°", "", s)
    s = s.replace("\\!", "").replace("\\,", "").replace("\\;", "").replace("\\ ", "")
    s = re.sub(r"\\(?:left|right|displaystyle)\b", "", s)
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("{,}", ",")
    s = s.replace("\\%", "").replace("%", "").replace("\\$", "").replace("$", "")
    s = re.sub(r"\\(?:text|textbf|mbox|mathrm)\{([^{}]*)\}", r"\1", s)
    s = re.sub(r"^\s*[a-zA-Z]\s*=\s*(?=\S)", "", s)  # "x = 5" -> "5" (a single-variable assignment)
    s = _fix_fracs(re.sub(r"\\sqrt\s*([^{\s\\])", r"\\sqrt{\1}", s))
    s = re.sub(r"\s+", "", s)
    s = re.sub(r"(?<![\d.])\.(\d)", r"0.\1", s)  # ".5" -> "0.5"
    return s.rstrip(".")


def to_number(answer: str) -> float | None:
    """The answer's value when it is a plain number (thousands commas, $, %, units stripped), else None.

    >>> to_number("$1,450,000")
    1450000.0
    >>> to_number("5 \\\\text{ cm}")
    5.0
    >>> to_number("2x") is None
    True
    """
    s = re.sub(r"\\(?:text|textbf|mbox|mathrm)\{[^{}]*\}", " ", answer)
    s = _strip_decorations(s)
    s = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", s)
    s = re.sub(r"(\s+[a-zA-Z]{1,12})+\s*$", "", s).strip()  # trailing unit words: "18 dollars"
    frac = re.fullmatch(r"(-?)\\frac\{(\d+)\}\{(\d+)\}|(-?\d+)/(\d+)", s)
    if frac:
        sign, num, den = (frac.group(1), frac.group(2), frac.group(3)) if frac.group(2) else (
            "", frac.group(4), frac.group(5))
        return None if float(den) == 0 else (-1 if sign else 1) * float(num) / float(den)
    if re.fullmatch(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?", s):
        return float(s)
    return None


def _strip_decorations(answer: str) -> str:
    """$, %, degrees, \\! and "x =" removed, inner whitespace kept (unit words must stay apart from numbers)."""
    s = answer.replace("\\$", "").replace("$", "").replace("\\%", "").replace("%", "")
    s = re.sub(r"\^\s*\{?\\circ\}?|°", "", s).replace("\\!", "").replace("{,}", ",")
    s = re.sub(r"^\s*[a-zA-Z]\s*=\s*(?=\S)", "", s.strip())
    return s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").strip()


def fast_equiv(pred: str, gold: str) -> bool | None:
    """The numeric and string tiers: True/False when they decide, None when symbolic checking is needed.

    >>> fast_equiv("1,000", "1000.0004"), fast_equiv("7", "8"), fast_equiv("\\\\frac{1}{2}", "0.5")
    (True, False, True)
    >>> fast_equiv("\\\\sqrt{2}", "2^{1/2}") is None
    True
    """
    p_num, g_num = to_number(pred), to_number(gold)
    if p_num is not None and g_num is not None:
        return math.isclose(p_num, g_num, rel_tol=0.0, abs_tol=NUMERIC_TOL)
    if normalize_answer(pred) == normalize_answer(gold):
        return True
    return None


# ---------------------------------------------------------------------------------------------------------
# The symbolic tier: math-verify in persistent worker processes with a process-level time limit


class _Worker:
    """One `python -m dsmath_lib.eval.grading --worker` process speaking JSON lines on its stdin/stdout."""

    def __init__(self):
        env = dict(os.environ, DSMATH_VERIFY_MEMORY=str(_WORKER_MEMORY_BYTES))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dsmath_lib.eval.grading", "--worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=env, start_new_session=True, bufsize=0)
        self._buf = b""
        self.ready = False

    def _read_line(self, timeout_s: float) -> dict | None:
        """The next JSON reply, or None when none arrived within `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.proc.stdout], [], [], left)[0]:
                return None
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise BrokenPipeError("math-verify worker exited")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def ask(self, pred: str, gold: str, timeout_s: float) -> bool | None:
        """True/False from math-verify, or None when no reply came within `timeout_s`."""
        if not self.ready:  # importing sympy takes about a second: not part of any comparison's budget
            if self._read_line(_WORKER_START_S) is None:
                raise BrokenPipeError(f"math-verify worker not ready after {_WORKER_START_S} s")
            self.ready = True
        self.proc.stdin.write((json.dumps({"pred": pred, "gold": gold}) + "\n").encode())
        reply = self._read_line(timeout_s)
        return None if reply is None else bool(reply["equal"])

    def kill(self):
        try:
            os.killpg(self.proc.pid, 9)
        except ProcessLookupError:
            pass
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            stream.close()


class SymbolicChecker:
    """A thread-safe pool of up to `size` math-verify worker processes, started on first use.

    >>> with SymbolicChecker(size=1) as checker:
    ...     checker.check("\\\\sqrt{2}", "2^{1/2}", timeout_s=30)
    True
    """

    def __init__(self, size: int = 1):
        self.size = max(1, size)
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._started = 0
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def _acquire(self) -> _Worker:
        with self._lock:
            if self._idle.empty() and self._started < self.size:
                self._started += 1
                return _Worker()
        return self._idle.get()

    def check(self, pred: str, gold: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> bool | None:
        """math-verify's verdict, or None (logged) when the comparison timed out or crashed its worker."""
        worker = self._acquire()
        try:
            verdict = worker.ask(pred, gold, timeout_s)
        except (BrokenPipeError, OSError, ValueError) as err:
            verdict, reason = None, f"worker failed ({err})"
        else:
            reason = f"timed out after {timeout_s:g} s"
        if verdict is None:
            log.warning("symbolic comparison %s, counted as wrong: pred=%r gold=%r",
                        reason, pred[:200], gold[:200])
            worker.kill()
            with self._lock:
                self._started -= 1  # a fresh worker replaces it at the next _acquire
            return None
        self._idle.put(worker)
        return verdict

    def close(self):
        """Stop every idle worker (workers busy in another thread are stopped when they come back)."""
        while not self._idle.empty():
            self._idle.get().kill()
            with self._lock:
                self._started -= 1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


_default: SymbolicChecker | None = None
_default_lock = threading.Lock()


def _default_checker() -> SymbolicChecker:
    """The process-wide checker used by is_equiv; a forked child gets its own, never its parent's pipes."""
    global _default
    with _default_lock:
        if _default is None or _default._pid != os.getpid():
            _default = SymbolicChecker(size=os.cpu_count() or 1)
        return _default


def _forget_default_after_fork():
    global _default, _default_lock
    _default, _default_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_default_after_fork)
atexit.register(lambda: _default is not None and _default._pid == os.getpid() and _default.close())


def is_equiv(pred: str | None, gold: str, timeout_s: float = DEFAULT_TIMEOUT_S,
             checker: SymbolicChecker | None = None) -> bool:
    """Whether an extracted answer equals the gold answer (numeric, then string, then symbolic).

    A symbolic comparison that takes longer than `timeout_s` counts as wrong and is logged.

    >>> is_equiv("$18.00", "18"), is_equiv("\\\\frac{2}{4}", "\\\\frac{1}{2}"), is_equiv(None, "3")
    (True, True, False)
    """
    if pred is None or not pred.strip():
        return False
    decided = fast_equiv(pred, gold)
    if decided is not None:
        return decided
    return bool((checker or _default_checker()).check(pred, gold, timeout_s))


def grade_many(preds: Sequence[str | None], golds: Sequence[str], workers: int = 2,
               timeout_s: float = DEFAULT_TIMEOUT_S, progress: bool = True) -> list[bool]:
    """is_equiv over pairs, the symbolic tier spread over `workers` math-verify processes.

    >>> grade_many(["1/2", "3", None], ["0.5", "4", "1"], workers=1, progress=False)
    [True, False, False]
    """
    if len(preds) != len(golds):
        raise ValueError(f"grade_many: {len(preds)} predictions but {len(golds)} gold answers")
    results: list[bool | None] = [
        False if (p is None or not p.strip()) else fast_equiv(p, g) for p, g in zip(preds, golds)]
    pending = [i for i, r in enumerate(results) if r is None]
    bar = tqdm(total=len(preds), desc="grading", disable=not progress, initial=len(preds) - len(pending))
    with SymbolicChecker(size=workers) as checker, ThreadPoolExecutor(max_workers=workers) as pool:
        def one(i: int) -> None:
            results[i] = bool(checker.check(preds[i], golds[i], timeout_s))
            bar.update(1)

        list(pool.map(one, pending))
    bar.close()
    return [bool(r) for r in results]


# ---------------------------------------------------------------------------------------------------------
# The worker side: `python -m dsmath_lib.eval.grading --worker`


def symbolic_equiv(pred: str, gold: str) -> bool:
    """math-verify's verdict with its signal-based timeouts off (the caller enforces the time limit).

    Both answers are wrapped in \\boxed{} so math-verify reads them as the final answer, not as prose.
    """
    from math_verify import parse, verify

    gold_parsed = parse(f"\\boxed{{{gold}}}", parsing_timeout=None)
    pred_parsed = parse(f"\\boxed{{{pred}}}", parsing_timeout=None)
    if not gold_parsed or not pred_parsed:
        return False
    return bool(verify(gold_parsed, pred_parsed, timeout_seconds=None))


def _worker_main() -> None:
    """Answer {"pred", "gold"} JSON lines on stdin with {"equal": bool} lines on stdout, until EOF."""
    import resource

    try:  # die with the parent even while stuck in sympy (EOF on stdin is only seen between requests)
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except (OSError, AttributeError):
        pass
    limit = int(os.environ.get("DSMATH_VERIFY_MEMORY", _WORKER_MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    logging.disable(logging.CRITICAL)  # math-verify warns once per process that its timeout is off
    out = os.fdopen(os.dup(1), "w", buffering=1)
    sys.stdout = sys.stderr  # nothing sympy prints may corrupt the reply stream
    import math_verify  # noqa: F401 - imported before "ready", so no comparison pays for it

    out.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        try:
            equal = symbolic_equiv(request["pred"], request["gold"])
        except Exception:  # noqa: BLE001 - an unparsable answer is simply not equal
            equal = False
        out.write(json.dumps({"equal": equal}) + "\n")


if __name__ == "__main__" and sys.argv[1:] == ["--worker"]:
    _worker_main()
