"""The run's pictures, shared out among forked processes: every picture drawn once, errors raised here."""

import os

import pytest

from linclass.cli.drawing import Picture, balanced_shares, draw_pictures


def pid_picture(tmp_path, key: str, cost: float = 1.0, fail: bool = False) -> Picture:
    """A picture whose file records the process that drew it."""
    path = tmp_path / f"{key}.txt"

    def draw() -> str:
        if fail:
            raise RuntimeError(f"cannot draw {key} in process {os.getpid()}")
        path.write_text(str(os.getpid()))
        return f"caption of {key}"

    return Picture(key, path, draw, cost)


def test_shares_are_balanced_by_cost_costliest_first():
    pictures = [Picture(key, None, lambda: None, cost) for key, cost in
                (("a", 1.0), ("b", 2.5), ("c", 2.0), ("d", 1.2), ("e", 1.0), ("f", 1.2))]
    shares = balanced_shares(pictures, 2)
    assert [[p.key for p in share] for share in shares] == [["b", "f", "e"], ["c", "d", "a"]]  # 4.7 and 4.2
    assert [[p.key for p in share] for share in balanced_shares(pictures, 1)] == [["b", "c", "d", "f", "a", "e"]]
    assert len(balanced_shares(pictures[:1], 3)) == 1  # no empty shares


def test_two_processes_draw_every_picture_once_and_return_their_captions_in_order(tmp_path):
    pictures = [pid_picture(tmp_path, key) for key in ("one", "two", "three", "four")]
    drawn = draw_pictures(pictures, processes=2)
    assert list(drawn.images) == ["one", "two", "three", "four"]
    assert drawn.captions == {key: f"caption of {key}" for key in drawn.images}
    assert set(drawn.seconds) == {f"picture: {key}" for key in drawn.images}
    drawers = {int(picture.path.read_text()) for picture in pictures}
    assert os.getpid() in drawers and len(drawers) == 2  # this process and one forked worker


def test_one_process_draws_everything_here(tmp_path):
    pictures = [pid_picture(tmp_path, key) for key in ("one", "two")]
    draw_pictures(pictures, processes=1)
    assert {int(picture.path.read_text()) for picture in pictures} == {os.getpid()}


def test_a_picture_that_fails_in_a_worker_is_drawn_again_here_and_raises_here(tmp_path):
    pictures = [pid_picture(tmp_path, "big", cost=5.0), pid_picture(tmp_path, "broken", fail=True)]
    with pytest.raises(RuntimeError, match=rf"cannot draw broken in process {os.getpid()}$"):
        draw_pictures(pictures, processes=2)
    assert int(pictures[0].path.read_text()) == os.getpid()  # the costliest share is this process's
