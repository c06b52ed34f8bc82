"""The sandbox contains what model-written code can do wrong, and the next call still works."""

import os
import socket
from pathlib import Path

import pytest

from dsmath_lib import paths
from dsmath_lib.eval.sandbox import STATUSES, isolation, run_many, run_python


def assert_next_call_works():
    result = run_python("print(sum(range(10)))", timeout_s=10)
    assert (result.status, result.stdout) == ("ok", "45\n"), result


def leftover_processes(marker: str) -> list[int]:
    """Pids of live processes whose command line contains `marker`."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker in (proc / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


@pytest.fixture(scope="module", autouse=True)
def full_isolation():
    """As root (tests, CI) every protection must be in force; elsewhere the sandbox says what is missing."""
    iso = isolation()
    if os.geteuid() == 0:
        assert iso.missing == () and iso.uid is not None, iso
    return iso


def test_runs_a_program():
    result = run_python("import sys\nprint('hi')\nprint('oops', file=sys.stderr)\nraise SystemExit(0)")
    assert (result.status, result.stdout, result.stderr, result.returncode) == ("ok", "hi\n", "oops\n", 0)
    assert 0 < result.seconds < 5 and result.status in STATUSES


def test_an_exception_is_an_error_with_its_traceback():
    result = run_python("1 / 0")
    assert result.status == "error" and result.returncode == 1
    assert "ZeroDivisionError" in result.stderr


def test_infinite_loop_times_out():
    result = run_python("while True:\n    pass", timeout_s=1.0)
    assert result.status == "timeout" and 1.0 <= result.seconds < 3
    assert_next_call_works()


def test_fork_bomb_is_contained_and_leaves_nothing_behind():
    code = ("import os, time\n"
            "while True:\n"
            "    try:\n"
            "        if os.fork() == 0:\n"
            "            os.execv('/bin/sleep', ['sleep', '4242.17'])\n"
            "    except OSError:\n"
            "        time.sleep(0.01)\n")
    result = run_python(code, timeout_s=2.0)
    assert result.status == "timeout"
    assert leftover_processes("4242.17") == []
    assert_next_call_works()


def test_setsid_child_does_not_outlive_the_call():
    code = ("import os\n"
            "if os.fork() == 0:\n"
            "    os.setsid()\n"
            "    os.execv('/bin/sleep', ['sleep', '4243.17'])\n"
            "print('parent done')\n")
    result = run_python(code, timeout_s=5.0)
    assert (result.status, result.stdout) == ("ok", "parent done\n")
    assert leftover_processes("4243.17") == []


def test_huge_allocation_is_a_memory_error():
    result = run_python("x = bytearray(50 * 2**30)\nprint('allocated')", memory_mb=512)
    assert result.status == "memory" and "allocated" not in result.stdout
    assert_next_call_works()


def test_output_flood_is_cut_at_the_cap():
    result = run_python("import sys\nblock = 'x' * (1 << 20)\nfor _ in range(100):\n    sys.stdout.write(block)",
                        timeout_s=10, max_output_bytes=1 << 20)
    assert result.status == "output_limit"
    assert len(result.stdout) == 1 << 20 and result.seconds < 5
    assert_next_call_works()


def test_no_network_even_to_localhost():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.setblocking(False)
        port = server.getsockname()[1]
        code = ("import socket\n"
                "try:\n"
                f"    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
                "    print('connected')\n"
                "except OSError as err:\n"
                "    print('refused', err)\n")
        result = run_python(code, timeout_s=5)
        assert result.status == "ok" and result.stdout.startswith("refused"), result
        with pytest.raises(BlockingIOError):
            server.accept()  # nothing ever reached the listener
    assert_next_call_works()


def test_cannot_write_or_delete_outside_the_scratch_directory(tmp_path):
    outside = tmp_path / "root_owned"
    outside.mkdir(mode=0o755)
    outside.chmod(0o755)
    target = outside / "keep.txt"
    target.write_text("original")
    in_repo = paths.ROOT / f".sandbox_probe_{os.getpid()}"
    in_repo.write_text("original")
    try:
        lines = []
        for path in (target, in_repo):
            lines += [f"try:\n    open({str(path)!r}, 'a').write('x')\n    print('wrote')\nexcept OSError:\n    pass",
                      f"try:\n    import os; os.remove({str(path)!r})\n    print('deleted')\nexcept OSError:\n    pass",
                      f"try:\n    open({str(path) + '.new'!r}, 'w')\n    print('created')\nexcept OSError:\n    pass"]
        result = run_python("\n".join(lines + ["print('done')"]))
        assert (result.status, result.stdout) == ("ok", "done\n"), result
        assert target.read_text() == "original" and in_repo.read_text() == "original"
        assert not Path(str(target) + ".new").exists() and not Path(str(in_repo) + ".new").exists()
    finally:
        for leftover in (in_repo, Path(str(in_repo) + ".new")):
            leftover.unlink(missing_ok=True)


def test_scratch_directory_is_the_cwd_is_writable_and_is_deleted():
    result = run_python("import os\nopen('note.txt', 'w').write('hi')\nprint(os.getcwd())\n"
                        "print(os.environ['TMPDIR'] == os.getcwd())")
    scratch, same = result.stdout.split()
    assert result.status == "ok" and same == "True"
    assert Path(scratch).name.startswith("dsmath-sandbox-") and not Path(scratch).exists()


def test_environment_does_not_leak(monkeypatch):
    monkeypatch.setenv("DSMATH_SECRET_TOKEN", "hunter2")
    result = run_python("import os\nprint(os.environ.get('DSMATH_SECRET_TOKEN'))")
    assert result.stdout == "None\n"


def test_killing_the_parent_does_not_kill_us():
    test_pid = os.getpid()
    code = ("import os\n"
            "for pid in (os.getppid(), %d):\n"
            "    try:\n"
            "        os.kill(pid, 9)\n"
            "    except OSError as err:\n"
            "        print(type(err).__name__)\n"
            "print('still here')\n" % test_pid)
    result = run_python(code, timeout_s=5)
    assert result.status in {"ok", "killed"}, result
    assert os.getpid() == test_pid  # and we are alive to say so
    assert_next_call_works()


def test_run_many_keeps_order_and_isolates_failures():
    codes = ["print(1)", "while True: pass", "print(3)", "1/0"]
    results = run_many(codes, timeout_s=1.0, workers=2, progress=False)
    assert [r.status for r in results] == ["ok", "timeout", "ok", "error"]
    assert [r.stdout for r in results] == ["1\n", "", "3\n", ""]
