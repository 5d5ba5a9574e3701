"""ganzoo.train.allocator: when ``ganzoo train`` sets glibc's malloc up, when it leaves it alone, and that the setting
really changes where big blocks come from."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from ganzoo.errors import ConfigError
from ganzoo.train.allocator import ENV, allocator_plan


def test_tuned_by_default_on_glibc() -> None:
    assert allocator_plan({}, "glibc") is None
    assert allocator_plan({ENV: "tuned"}, "glibc") is None
    assert allocator_plan({ENV: " Tuned "}, "glibc") is None


@pytest.mark.parametrize("env, libc, reason", [
    ({ENV: "system"}, "glibc", "GANZOO_ALLOCATOR=system"),
    ({}, "", "not glibc"),
    ({"MALLOC_MMAP_THRESHOLD_": "65536"}, "glibc", "MALLOC_MMAP_THRESHOLD_"),
    ({"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=0"}, "glibc", "GLIBC_TUNABLES"),
    ({"LD_PRELOAD": "/usr/lib/libjemalloc.so.2"}, "glibc", "LD_PRELOAD jemalloc"),
])
def test_left_alone_when_the_user_decides(env: dict[str, str], libc: str, reason: str) -> None:
    assert reason in allocator_plan(env, libc)


def test_an_unknown_setting_is_one_line_naming_both_choices() -> None:
    with pytest.raises(ConfigError, match=r"GANZOO_ALLOCATOR='fast' is not an allocator setting: use "
                                          r"GANZOO_ALLOCATOR=tuned \(the default\) or GANZOO_ALLOCATOR=system"):
        allocator_plan({ENV: "fast"}, "glibc")


_PROBE = textwrap.dedent("""
    import ctypes, sys
    from ganzoo.train.allocator import tune_allocator

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                          "fsmblks", "uordblks", "fordblks", "keepcost")]

    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = MallInfo2
    libc.malloc.restype = ctypes.c_void_p
    print(tune_allocator())
    before = libc.mallinfo2().hblkhd
    block = libc.malloc(4 << 20)
    print(libc.mallinfo2().hblkhd - before)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
@pytest.mark.parametrize("setting", ["tuned", "system"])
def test_a_4_mib_block_comes_from_the_heap_only_when_tuned(setting: str) -> None:
    """glibc's mmap threshold starts at 128 KiB: untouched, a fresh process maps a 4 MiB block of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k not in ("GLIBC_TUNABLES", "LD_PRELOAD")}
    done = subprocess.run([sys.executable, "-c", _PROBE], env={**env, ENV: setting}, capture_output=True, text=True,
                          check=True)
    account, mapped = done.stdout.split("\n")[:2]
    if setting == "tuned":
        assert account.startswith("malloc: blocks up to 32 MiB") and int(mapped) == 0
    else:
        assert account == "malloc left as it is: GANZOO_ALLOCATOR=system" and int(mapped) >= 4 << 20


def test_train_refuses_an_unknown_setting_before_making_a_run_folder(run_cli, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(ENV, "fast")
    result = run_cli("train", "--steps", "1", "--quiet", "--out", str(tmp_path / "r"))
    assert result.exit_code != 0
    assert result.stderr.strip().splitlines() == [
        "error: GANZOO_ALLOCATOR='fast' is not an allocator setting: use GANZOO_ALLOCATOR=tuned (the default) or "
        "GANZOO_ALLOCATOR=system"]
    assert not (tmp_path / "r").exists()
