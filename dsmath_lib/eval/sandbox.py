"""A sandbox for model-written Python: a separate, limited, network-less, throw-away process per program.

    from dsmath_lib.eval.sandbox import run_python, run_many
    result = run_python("print(2 ** 10)", timeout_s=5)
    result.status, result.stdout          # ('ok', '1024\\n')
    run_many(programs, timeout_s=5, workers=2)   # a small thread pool, one process per program

Each call writes the code to main.py in a fresh scratch directory (the child's cwd, HOME and TMPDIR, deleted
afterwards) and runs the current interpreter on it, wrapped like this:
- `unshare --net --pid --fork --kill-child`: a network namespace with no interfaces up (no connection, even
  to 127.0.0.1) and a PID namespace, so killing the program's first process ends every process it started,
  including ones that left its process group with setsid(). Without root, `unshare -r` (a user namespace)
  does the same; where neither works the run goes on without them and a warning says so, once.
- `setpriv --reuid=nobody --regid=nogroup --clear-groups` when started as root: root ignores RLIMIT_NPROC
  and can write anywhere, nobody can do neither. Without root, the project's files stay writable by the
  program: nothing here can take that away from the user's own uid (a warning says so, once).
- rlimits set by a two-line bootstrap before the program runs: RLIMIT_AS (memory), RLIMIT_NPROC (processes:
  a fork bomb gets EAGAIN), RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_CORE = 0.
The interpreter is ours (sys.executable, so model code can import sympy and numpy) when the sandbox user
can run it, else the system python3 (a warning says so); `isolation()` probes all this once per process.
We read stdout and stderr ourselves with a cap (1 MB by default): a print flood is cut off, the program
killed, and the status is "output_limit". The wall-clock limit is ours too ("timeout").
Limits of this design: RLIMIT_NPROC counts every process of the user nobody, so concurrent sandboxes share
the budget; /tmp (mode 1777) stays writable by nobody (TMPDIR points to the scratch directory instead).
The paper does not describe its sandbox; this is ours.
"""

from __future__ import annotations

import functools
import logging
import os
import pwd
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

log = logging.getLogger(__name__)

STATUSES = ("ok", "error", "timeout", "memory", "output_limit", "killed", "unavailable")
SANDBOX_USER, SANDBOX_GROUP = "nobody", "nogroup"
_STDERR_CAP = 64 << 10  # tracebacks are short; a stderr flood is an output_limit like a stdout flood

# Runs first inside the child, as the sandbox user: the limits, then the program as __main__.
_BOOTSTRAP = (
    "import resource as r, runpy, sys\n"
    "for k, v in ((r.RLIMIT_AS, {mem}), (r.RLIMIT_NPROC, {nproc}), (r.RLIMIT_CPU, {cpu}),"
    " (r.RLIMIT_FSIZE, {fsize}), (r.RLIMIT_CORE, 0)): r.setrlimit(k, (v, v))\n"
    "sys.argv = ['main.py']; runpy.run_path('main.py', run_name='__main__')\n"
)


@dataclass
class SandboxResult:
    """What one program did. status is one of STATUSES; returncode is None when it never ran."""

    status: str
    stdout: str
    stderr: str
    returncode: int | None
    seconds: float

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True)
class Isolation:
    """The command prefix that isolates a child, and what this machine could not enforce."""

    prefix: tuple[str, ...]
    uid: int | None  # the unprivileged uid the child runs as (None: our own)
    missing: tuple[str, ...]
    python: str | None = None  # the interpreter the sandbox user can run (None: none can)


@functools.lru_cache(maxsize=1)
def isolation() -> Isolation:
    """Probe once which of namespaces and privilege dropping work here; warn about what does not."""
    missing, prefix, uid = [], [], None
    root = os.geteuid() == 0
    ns = ["unshare", "--net", "--pid", "--fork", "--kill-child"] + ([] if root else ["--map-root-user"])
    if shutil.which("unshare") and _succeeds(ns + ["--", "true"]):
        prefix += ns + ["--"]
    else:
        missing += ["network cut (no network namespace)", "PID namespace (setsid() escapes the kill)"]
    if root:
        try:
            uid = pwd.getpwnam(SANDBOX_USER).pw_uid
        except KeyError:
            uid = None
        if uid is not None and shutil.which("setpriv"):
            prefix += ["setpriv", f"--reuid={SANDBOX_USER}", f"--regid={SANDBOX_GROUP}", "--clear-groups", "--"]
        else:
            uid = None
            missing += ["privilege drop (runs as root: RLIMIT_NPROC ignored, files writable)"]
    else:
        missing += ["read-only project files (the program runs as our own uid)"]
    if missing:
        log.warning("sandbox: cannot enforce on this machine: %s", "; ".join(missing))
    # The sandbox user must be able to run the interpreter (a venv under a private home may not be).
    candidates = [sys.executable] + [p for p in (shutil.which("python3"),) if p and p != sys.executable]
    python = next((c for c in candidates if _succeeds(prefix + [c, "-c", "pass"])), None)
    if python is None:
        log.warning("sandbox: no Python interpreter runs under %s; every program will be 'unavailable'",
                    " ".join(prefix) or "our own user")
    elif python != sys.executable:
        log.warning("sandbox: %s cannot run as %s; using %s (without this environment's packages)",
                    sys.executable, SANDBOX_USER, python)
    return Isolation(tuple(prefix), uid, tuple(missing), python)


def _succeeds(cmd: list[str]) -> bool:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _make_scratch(uid: int | None) -> Path:
    scratch = Path(tempfile.mkdtemp(prefix="dsmath-sandbox-"))
    if uid is not None:
        os.chown(scratch, uid, -1)  # the sandbox user may write here and nowhere else we own
    return scratch


def _child_env(scratch: Path) -> dict[str, str]:
    """A minimal environment: nothing of ours (tokens, paths) leaks into model-written code."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(scratch), "TMPDIR": str(scratch),
           "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8", "PYTHONDONTWRITEBYTECODE": "1"}
    # Thread pools count against RLIMIT_NPROC: numpy would fail to import with its default threads.
    env.update({k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
    return env


def _kill_tree(proc: subprocess.Popen) -> None:
    """End every process of the program; return once they are gone.

    With a PID namespace, `proc` is unshare and its one child is the namespace's first process: SIGKILL it
    and the kernel kills the rest of the namespace before unshare can reap it, so waiting for unshare
    waits for all of them. Without one, SIGKILL our process group (setsid() escapes it: logged at probe).
    """
    children = []
    if proc.returncode is None:  # once reaped, its pid may belong to someone else
        try:
            for task in Path(f"/proc/{proc.pid}/task").iterdir():
                children += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            pass  # already exiting
    if children and _uses_pid_namespace():
        for child in children:
            _signal(child, signal.SIGKILL)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _uses_pid_namespace() -> bool:
    return "--pid" in isolation().prefix


def _pump(proc: subprocess.Popen, deadline: float, cap: int) -> tuple[bytes, bytes, str | None]:
    """Read both pipes until EOF, the deadline or a cap; returns (stdout, stderr, 'timeout'|'output_limit'|None)."""
    bufs = {proc.stdout: bytearray(), proc.stderr: bytearray()}
    caps = {proc.stdout: cap, proc.stderr: _STDERR_CAP}
    sel = selectors.DefaultSelector()
    for stream in bufs:
        sel.register(stream, selectors.EVENT_READ)
    reason = None
    while sel.get_map():
        left = deadline - time.monotonic()
        if left <= 0:
            reason = "timeout"
            break
        for key, _ in sel.select(timeout=min(left, 0.1)):
            chunk = os.read(key.fileobj.fileno(), 65536)
            if not chunk:
                sel.unregister(key.fileobj)
                continue
            bufs[key.fileobj] += chunk
            if len(bufs[key.fileobj]) > caps[key.fileobj]:
                reason = "output_limit"
                del bufs[key.fileobj][caps[key.fileobj]:]
                break
        if reason:
            break
        if proc.returncode is None and proc.poll() is not None:
            _kill_tree(proc)  # the program is done: background children must not keep its pipes open
    sel.close()
    return bytes(bufs[proc.stdout]), bytes(bufs[proc.stderr]), reason


def _status(returncode: int, stderr: str, reason: str | None) -> str:
    if reason:
        return reason
    if returncode == 0:
        return "ok"
    if "MemoryError" in stderr or "Cannot allocate memory" in stderr:
        return "memory"
    if returncode == -signal.SIGXCPU or returncode == 128 + signal.SIGXCPU:
        return "timeout"  # RLIMIT_CPU fired before our wall clock
    return "killed" if returncode < 0 or returncode > 128 else "error"


def run_python(code: str, timeout_s: float = 5.0, memory_mb: int = 1024, max_output_bytes: int = 1 << 20,
               max_procs: int = 32, max_file_mb: int = 16) -> SandboxResult:
    """Run `code` as a Python program in the sandbox and report what happened.

    >>> run_python("print(6 * 7)").stdout
    '42\\n'
    >>> run_python("while True: pass", timeout_s=0.5).status
    'timeout'
    """
    iso = isolation()
    if iso.python is None:
        return SandboxResult("unavailable", "", "no interpreter runs in the sandbox (see the log)", None, 0.0)
    scratch = _make_scratch(iso.uid)
    start = time.monotonic()
    try:
        (scratch / "main.py").write_text(code, encoding="utf-8")
        boot = _BOOTSTRAP.format(mem=memory_mb << 20, nproc=max_procs, cpu=int(timeout_s) + 2,
                                 fsize=max_file_mb << 20)
        cmd = [*iso.prefix, iso.python, "-s", "-B", "-c", boot]
        try:
            proc = subprocess.Popen(cmd, cwd=scratch, env=_child_env(scratch), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        except OSError as err:
            return SandboxResult("unavailable", "", f"sandbox could not start: {err}", None, 0.0)
        try:
            out, err, reason = _pump(proc, start + timeout_s, max_output_bytes)
        finally:
            _kill_tree(proc)
            proc.stdout.close()
            proc.stderr.close()
        stderr = err.decode("utf-8", "replace")
        return SandboxResult(_status(proc.returncode, stderr, reason), out.decode("utf-8", "replace"),
                             stderr, proc.returncode, time.monotonic() - start)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run_many(codes: Sequence[str], timeout_s: float = 5.0, workers: int = 2, progress: bool = True,
             **limits) -> list[SandboxResult]:
    """run_python over many programs with `workers` running at once; results in input order.

    >>> [r.stdout for r in run_many(["print(1)", "print(2)"], progress=False)]
    ['1\\n', '2\\n']
    """
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(run_python, code, timeout_s, **limits) for code in codes]
        return [f.result() for f in tqdm(futures, desc="sandbox", disable=not progress)]
