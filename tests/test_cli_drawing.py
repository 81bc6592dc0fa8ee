"""The run's pictures, handed out to forked processes: every picture drawn once, errors raised here."""

import os
import sys
import time
import warnings

import pytest

from linclass.cli import drawing
from linclass.cli.drawing import Picture, draw_pictures
from linclass.warning_filters import caught_warnings


def pid_picture(tmp_path, key: str, cost: float = 1.0, fail: bool = False, seconds: float = 0.05) -> Picture:
    """A picture that takes ``seconds`` to draw and whose file records the process that drew it."""
    path = tmp_path / f"{key}.txt"

    def draw() -> str:
        time.sleep(seconds)
        if fail:
            raise RuntimeError(f"cannot draw {key} in process {os.getpid()}")
        path.write_text(str(os.getpid()))
        return f"caption of {key}"

    return Picture(key, path, draw, cost)


def test_one_process_draws_the_costliest_first(tmp_path):
    order = []
    pictures = [Picture(key, tmp_path / key, lambda key=key: order.append(key), cost) for key, cost in
                (("a", 1.0), ("b", 2.5), ("c", 2.0), ("d", 1.2), ("e", 0.5))]
    draw_pictures(pictures, processes=1)
    assert order == ["b", "c", "d", "a", "e"]


def test_a_picture_slower_than_its_cost_says_holds_up_no_other(tmp_path):
    slow = pid_picture(tmp_path, "slow", cost=2.0, seconds=1.0)  # taken first, here
    quick = [pid_picture(tmp_path, key) for key in ("a", "b", "c", "d")]
    draw_pictures([*quick, slow], processes=2)
    assert int(slow.path.read_text()) == os.getpid()
    assert {int(picture.path.read_text()) for picture in quick} == {int(quick[0].path.read_text())} != {os.getpid()}


def test_two_processes_draw_every_picture_once_and_return_their_captions_in_order(tmp_path):
    pictures = [pid_picture(tmp_path, key, seconds=0.3) for key in ("one", "two", "three", "four")]
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
    assert int(pictures[0].path.read_text()) == os.getpid()  # the costliest is taken here, before the fork


def test_a_stop_here_ends_the_workers_and_leaves_no_half_written_picture(tmp_path):
    from linclass.files import write_atomically

    def stop() -> None:
        time.sleep(0.5)  # the worker is inside its write by now
        raise KeyboardInterrupt

    def slow_write() -> None:
        write_atomically(tmp_path / "slow.png", lambda stream: (stream.write(b"half"), time.sleep(30)))

    pictures = [Picture("stop", tmp_path / "stop.png", stop, cost=2.0),
                Picture("slow", tmp_path / "slow.png", slow_write, cost=1.0)]
    started = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        draw_pictures(pictures, processes=2)
    assert time.perf_counter() - started < 10 and list(tmp_path.iterdir()) == []


def slow_module(tmp_path, monkeypatch, body: str) -> str:
    """A module of its own, whose import runs ``body``, as the drawing's module to import."""
    name = f"linclass_test_slow_{abs(hash(str(tmp_path)))}"
    (tmp_path / f"{name}.py").write_text(body)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(drawing, "DRAWING_MODULE", name)
    return name


def test_finishing_the_import_started_beside_the_loading_waits_for_it(tmp_path, monkeypatch):
    name = slow_module(tmp_path, monkeypatch, "import time\ntime.sleep(0.5)\nDONE = True\n")
    drawing.start_importing_drawing()
    thread = drawing._importing[0]
    assert thread.is_alive() and thread.daemon  # an error or Ctrl-C meanwhile does not wait for it
    drawing.finish_importing_drawing()
    assert not thread.is_alive() and sys.modules[name].DONE and drawing._importing == []


def test_the_drawing_finishes_the_import_before_it_draws_or_forks(tmp_path, monkeypatch):
    order = []
    finish = drawing.finish_importing_drawing
    monkeypatch.setattr(drawing, "finish_importing_drawing", lambda: (order.append("import finished"), finish()))
    draw_pictures([Picture("a", tmp_path / "a", lambda: order.append("drawn"), 1.0)], processes=2)
    assert order == ["import finished", "drawn"]


def test_the_import_thread_leaves_the_warning_filters_as_they_were(tmp_path, monkeypatch):
    """matplotlib's import changes the filters for a while; so may this thread's reader at the same time."""
    slow_module(tmp_path, monkeypatch, "import time, warnings\nwith warnings.catch_warnings():\n"
                                       "    warnings.simplefilter('ignore', DeprecationWarning)\n    time.sleep(0.3)\n")
    before = list(warnings.filters)
    with caught_warnings():  # a reader that ignores UserWarning for a moment, as the import begins
        warnings.simplefilter("ignore", UserWarning)
        drawing.start_importing_drawing()
        time.sleep(0.1)
    drawing.finish_importing_drawing()
    assert warnings.filters == before


def test_an_import_that_fails_in_the_thread_is_raised_by_the_drawing(tmp_path, monkeypatch):
    monkeypatch.setattr(drawing, "DRAWING_MODULE", "linclass_no_such_module")
    drawing.start_importing_drawing()  # quiet in its thread
    with pytest.raises(ModuleNotFoundError, match="linclass_no_such_module"):
        draw_pictures([pid_picture(tmp_path, "a")], processes=1)
    assert not (tmp_path / "a.txt").exists()
