"""The one atomic write: all or nothing, nothing left behind, the permissions of a plain ``open``."""

from __future__ import annotations

import os

import pytest

from linclass.files import write_atomically


def test_bytes_and_a_writing_function_give_the_same_file(tmp_path):
    write_atomically(tmp_path / "a.bin", b"content")
    write_atomically(tmp_path / "b.bin", lambda stream: stream.write(b"content"))
    assert (tmp_path / "a.bin").read_bytes() == (tmp_path / "b.bin").read_bytes() == b"content"


@pytest.mark.parametrize("interruption", [OSError("disk full"), KeyboardInterrupt()])
def test_an_interrupted_write_keeps_the_old_file_and_removes_its_temporary(tmp_path, interruption):
    target = tmp_path / "model.bin"
    target.write_bytes(b"old")

    def write_half(stream):
        stream.write(b"ne")
        raise interruption

    with pytest.raises(type(interruption)):
        write_atomically(target, write_half)
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["model.bin"]


def test_the_file_gets_the_umask_permissions_not_those_of_a_temporary(tmp_path):
    previous = os.umask(0o022)
    try:
        written = write_atomically(tmp_path / "report.html", b"<html>")
    finally:
        os.umask(previous)
    assert written.stat().st_mode & 0o777 == 0o644
