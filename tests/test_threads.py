"""The BLAS thread count of training: chosen for the step's size and the free CPUs; an explicit setting wins."""

import os
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_info

import linclass as lc
from linclass import threads
from linclass.threads import BlasThreads, CpuMeter, choose_threads, free_cpus, step_flops
from conftest import _missing

FASHION_STEP = step_flops(256, 784, 10)     # a Fashion-MNIST step: 256 × 784 by 784 × 10
CIFAR100_STEP = step_flops(256, 3072, 100)  # a CIFAR-100 step: forty times the work


def blas_thread_counts() -> dict[str, int]:
    """The thread count of every BLAS library loaded, by its file."""
    return {pool["filepath"]: pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def test_step_flops_counts_both_products_by_hand():
    # scores (256×784 by 784×10) and the gradient (10×256 by 256×784): 2·256·784·10 operations each
    assert FASHION_STEP == 2 * (2 * 256 * 784 * 10) == 8_028_160


DIGITS_STEP = step_flops(256, 64, 10)       # a digits step: a tenth of a Fashion-MNIST one


def test_a_tiny_step_gets_one_thread_even_on_an_idle_machine():
    assert choose_threads(DIGITS_STEP, usable=2, others_busy=0.0) == 1
    assert choose_threads(DIGITS_STEP, usable=16, others_busy=0.0) == 1


def test_a_fashion_mnist_step_gets_two_threads_on_an_idle_machine_and_one_beside_a_busy_core():
    assert choose_threads(FASHION_STEP, usable=2, others_busy=0.0) == 2
    assert choose_threads(FASHION_STEP, usable=2, others_busy=1.0) == 1
    assert choose_threads(FASHION_STEP, usable=16, others_busy=0.0) == 4  # 8 MFLOP / 2 MFLOP per thread


def test_a_large_step_gets_the_free_cpus_and_no_more():
    assert choose_threads(CIFAR100_STEP, usable=2, others_busy=0.0) == 2
    assert choose_threads(CIFAR100_STEP, usable=2, others_busy=1.0) == 1   # one core busy: never two threads
    assert choose_threads(CIFAR100_STEP, usable=16, others_busy=0.0) == 16  # 315 MFLOP: more than 16 threads' worth
    assert choose_threads(CIFAR100_STEP, usable=16, others_busy=13.2) == 3


def test_a_cpu_counts_as_taken_from_half_of_it_on_and_one_always_stays():
    assert free_cpus(2, 0.4) == 2
    assert free_cpus(2, 0.5) == 1
    assert free_cpus(4, 1.6) == 2
    assert free_cpus(2, 5.0) == 1


def test_the_environment_variables_are_recognized():
    assert threads.environment_setting({}) is None
    assert threads.environment_setting({"OMP_NUM_THREADS": " "}) is None
    assert threads.environment_setting({"OPENBLAS_NUM_THREADS": "2"}) == "OPENBLAS_NUM_THREADS=2"
    assert threads.environment_setting({"MKL_NUM_THREADS": "3"}) == "MKL_NUM_THREADS=3"


def test_an_explicit_count_wins_over_the_choice_and_the_environment():
    chosen = BlasThreads(2, FASHION_STEP, environ={"OMP_NUM_THREADS": "1"})
    assert chosen.choice.threads == 2 and not chosen.adaptive


def test_the_environment_wins_over_the_choice_and_blas_is_left_alone(monkeypatch):
    monkeypatch.setattr(threads, "usable_cpus", lambda: 2)
    before = blas_thread_counts()
    limit = BlasThreads(None, CIFAR100_STEP, environ={"OMP_NUM_THREADS": "2"})
    limit.apply()
    assert limit.choice.threads is None and "OMP_NUM_THREADS=2" in limit.choice.reason
    assert blas_thread_counts() == before
    limit.release()


def test_a_large_step_follows_the_load_measured_during_training(monkeypatch):
    monkeypatch.setattr(threads, "usable_cpus", lambda: 2)
    monkeypatch.setattr(threads, "others_from_load_average", lambda usable: 0.0)
    limit = BlasThreads(None, CIFAR100_STEP, environ={})
    assert limit.choice.threads == 2 and limit.adaptive
    monkeypatch.setattr(limit.meter, "others_busy", lambda: 1.0)  # another process took a core
    limit.revise()
    assert limit.choice.threads == 1 and "measured during training" in limit.choice.reason
    monkeypatch.setattr(limit.meter, "others_busy", lambda: None)  # too short a window: keep the choice
    limit.revise()
    assert limit.choice.threads == 1


def test_the_cpus_free_now_follow_a_meter_when_it_has_measured_else_the_load_average(monkeypatch):
    """The pictures after training are shared out by what other processes did during it: the load average
    counts training's own threads for a minute after."""
    monkeypatch.setattr(threads, "usable_cpus", lambda: 2)
    monkeypatch.setattr(threads, "others_from_load_average", lambda usable: 1.0)  # training's own load, lagging
    meter = CpuMeter()
    monkeypatch.setattr(meter, "others_busy", lambda: 0.0)
    assert threads.free_cpus_now(meter) == 2 and threads.free_cpus_now() == 1
    monkeypatch.setattr(meter, "others_busy", lambda: None)  # no window measured yet: the load average
    assert threads.free_cpus_now(meter) == 1


def test_the_limit_applies_during_training_and_is_lifted_after(monkeypatch):
    for name in threads.THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    X = np.random.default_rng(0).standard_normal((300, 20)).astype(np.float32)
    y = np.arange(300) % 3
    lc.LinearClassifier(epochs=1).fit(X, y)  # every library the fit loads is loaded now
    before = blas_thread_counts()
    seen = []
    clf = lc.LinearClassifier(epochs=2, threads=1, on_epoch_end=lambda c, r: seen.append(blas_thread_counts()))
    clf.fit(X, y)
    assert seen and all(counts and set(counts.values()) == {1} for counts in seen)
    assert blas_thread_counts() == before
    assert clf.threads_.threads == 1 and clf.threads_.reason == "set by threads=1"
    chosen = lc.LinearClassifier(epochs=1).fit(X, y).threads_
    assert chosen.threads == 1 and "MFLOP per step" in chosen.reason


def test_threads_is_checked():
    with pytest.raises(ValueError, match=r"threads=0 is not valid"):
        lc.LinearClassifier(threads=0).fit(np.zeros((4, 2)), [0, 1, 0, 1])


def test_the_meter_counts_the_machines_busy_time_less_this_processs_own(tmp_path, monkeypatch):
    stat = tmp_path / "stat"
    # user nice system idle iowait irq softirq steal guest guest_nice (ticks of 10 ms)
    stat.write_text("cpu  100 0 20 500 30 0 5 0 40 0\ncpu0 50 0 10 250 15 0 2 0 20 0\n")
    monkeypatch.setattr(CpuMeter, "STAT", str(stat))
    clock = iter([10.0, 10.05, 11.0])
    own = iter([2.0, 2.0, 2.5])
    monkeypatch.setattr(threads.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(threads.os, "times", lambda: _times(next(own)))
    meter = CpuMeter()
    assert meter.ticks_per_second == 100 and meter._busy_ticks() == 100 + 20 + 5  # guest is inside user
    assert meter.others_busy() is None  # 50 ms is too short a window to judge
    stat.write_text("cpu  220 0 50 600 30 0 5 0 40 0\n")  # +150 ticks busy over the second that passed
    assert meter.others_busy() == pytest.approx(1.5 - 0.5)  # 1.5 CPU-seconds, 0.5 of them this process's


def _times(cpu_seconds: float):
    return type("Times", (), {"user": cpu_seconds, "system": 0.0})()


def test_the_meter_reads_this_machine():
    meter = CpuMeter()
    if not meter.available:
        _missing("no /proc/stat on this system: the meter reads the CPU time of the whole machine there")
    time.sleep(threads.MIN_WINDOW_SECONDS)
    others = meter.others_busy()
    assert others is not None and 0.0 <= others <= (os.cpu_count() or 1) + 0.5
