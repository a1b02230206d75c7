"""``naivegrad._atomic``: atomic writes, the temporary files they leave when killed, and the probe that tells
before any work whether a path can be written."""

import errno
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from naivegrad import _atomic
from naivegrad._atomic import atomic_write, check_writable, remove_stale_temps

ROOT = Path(__file__).resolve().parents[1]

STALE = (".ckpt.npz.abcd1234.tmp", ".ckpt.npz.zz_9x0y1.tmp")  # what an earlier writer of ckpt.npz left
NOT_OURS = (
    ".other.npz.abcd1234.tmp",      # another target's
    ".ckpt.npz.abcd1234.part",      # another suffix (a download's)
    "ckpt.npz.abcd1234.tmp",        # not hidden: a user's file
    ".ckpt.npz.abcd1234.tmp.bak",   # a user's file
    ".ckpt.npz.abc.tmp",            # not the writer's random part
    ".ckpt.npz.abcd.1234.tmp",      # likewise (the temporary file of a target named 'ckpt.npz.abcd')
    ".xckpt.npz.abcd1234.tmp",
)


def _litter(folder):
    for name in STALE + NOT_OURS:
        (folder / name).write_bytes(b"\0" * 100_000)  # full-size, as a killed save leaves them
    (folder / ".ckpt.npz.dir12345.tmp").mkdir()  # a folder is never removed


def _remaining(folder):
    return set(os.listdir(folder))


def test_a_save_removes_the_stale_temporary_files_of_its_target_and_nothing_else(tmp_path):
    _litter(tmp_path)
    target = tmp_path / "ckpt.npz"
    with atomic_write(target) as f:
        f.write(b"new")
    assert target.read_bytes() == b"new"
    assert _remaining(tmp_path) == set(NOT_OURS) | {"ckpt.npz", ".ckpt.npz.dir12345.tmp"}


def test_remove_stale_temps_is_what_loaders_call(tmp_path):
    _litter(tmp_path)
    target = tmp_path / "ckpt.npz"
    removed = remove_stale_temps(target)
    assert sorted(os.path.basename(p) for p in removed) == sorted(STALE)
    assert _remaining(tmp_path) == set(NOT_OURS) | {".ckpt.npz.dir12345.tmp"}
    assert remove_stale_temps(target) == []
    # Another suffix is another writer's (downloads use .part).
    assert [os.path.basename(p) for p in remove_stale_temps(target, suffix=".part")] == [".ckpt.npz.abcd1234.part"]
    assert remove_stale_temps(tmp_path / "missing-folder" / "x.npz") == []


def test_the_temporary_file_is_named_after_its_target(tmp_path):
    target = tmp_path / "run.npz"
    with atomic_write(target) as f:
        names = os.listdir(tmp_path)
        f.write(b"x")
    assert len(names) == 1
    assert _atomic.is_temp_of(names[0], "run.npz"), names


def test_a_live_write_is_never_taken_for_a_stale_one(tmp_path):
    target = tmp_path / "ckpt.npz"
    with atomic_write(target) as f:
        f.write(b"a" * 1000)
        assert remove_stale_temps(target) == []  # the same process, another caller
        with atomic_write(target) as g:  # a nested write of the same path: its own temporary file
            g.write(b"inner")
        f.write(b"b")
    assert target.read_bytes() == b"a" * 1000 + b"b"
    assert os.listdir(tmp_path) == ["ckpt.npz"]


_WRITER = """
import sys, time
from naivegrad._atomic import atomic_write
with atomic_write(sys.argv[1]) as f:
    f.write(b"w" * 1_000_000)
    f.flush()
    print("writing", flush=True)
    time.sleep(600)
"""


def test_kill_9_during_a_save_leaves_a_temporary_file_the_next_save_removes(tmp_path):
    target = tmp_path / "ckpt.npz"
    target.write_bytes(b"old")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(target)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout.readline().strip() == "writing"  # the writer is inside atomic_write, mid-save
        (temp,) = [p for p in os.listdir(tmp_path) if p != "ckpt.npz"]
        assert remove_stale_temps(target) == []  # still being written: not stale
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
    assert (tmp_path / temp).stat().st_size == 1_000_000  # what kill -9 leaves behind, full size
    assert target.read_bytes() == b"old"
    with atomic_write(target) as f:
        f.write(b"new")
    assert os.listdir(tmp_path) == ["ckpt.npz"] and target.read_bytes() == b"new"


def test_a_failed_write_removes_its_temporary_file_and_keeps_the_old_one(tmp_path):
    target = tmp_path / "ckpt.npz"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as f:
            f.write(b"partial")
            raise RuntimeError("boom")
    assert os.listdir(tmp_path) == ["ckpt.npz"] and target.read_bytes() == b"old"


def test_new_files_get_ordinary_permissions_and_existing_ones_keep_theirs(tmp_path):
    umask = os.umask(0o022)
    try:
        target = tmp_path / "a.png"
        with atomic_write(target) as f:
            f.write(b"x")
        assert target.stat().st_mode & 0o777 == 0o644
        target.chmod(0o600)
        with atomic_write(target) as f:
            f.write(b"y")
        assert target.stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(umask)


# -- check_writable: the probe made before a long run


def test_check_writable_accepts_a_writable_folder_and_leaves_nothing_behind(tmp_path):
    check_writable(tmp_path / "new.npz")
    (tmp_path / "old.npz").write_bytes(b"x")
    check_writable(tmp_path / "old.npz")
    assert os.listdir(tmp_path) == ["old.npz"]


def _refused(path, **kwargs):
    with pytest.raises(OSError) as info:
        check_writable(path, **kwargs)
    return info.value


def test_check_writable_refuses_what_cannot_be_written(tmp_path):
    (tmp_path / "file").write_bytes(b"x")
    assert _refused(tmp_path / "file" / "x.npz").errno in (errno.ENOTDIR, errno.ENOENT)
    (tmp_path / "dir.npz").mkdir()
    assert _refused(tmp_path / "dir.npz").errno == errno.EISDIR
    os.mkfifo(tmp_path / "fifo.npz")
    _refused(tmp_path / "fifo.npz")  # replacing a pipe or a device is never what was meant
    assert _refused(tmp_path / "missing" / "x.npz").errno == errno.ENOENT
    assert sorted(os.listdir(tmp_path)) == ["dir.npz", "fifo.npz", "file"]


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_check_writable_refuses_a_special_file_system():
    _refused("/proc/naivegrad-probe.npz")


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES, errno.ENOSPC])
def test_check_writable_creates_a_file_as_the_writer_will(tmp_path, monkeypatch, code):
    real_open = os.open

    def failing_open(path, *args, **kwargs):
        if str(path).startswith(str(tmp_path)):
            raise OSError(code, os.strerror(code), str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", failing_open)
    assert _refused(tmp_path / "x.npz").errno == code
    with pytest.raises(OSError):  # and the writer fails the same way: the probe told the truth
        with atomic_write(tmp_path / "x.npz") as f:
            f.write(b"x")
