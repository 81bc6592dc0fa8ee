"""Every performance figure of linclass in one run, written into docs/performance.md.

1. the training benchmark (``training.py``): linclass's fused and autograd paths, a hand-written NumPy
   loop, PyTorch and scikit-learn on Fashion-MNIST, with the machine's own figures and a plot;
   and its MLP section (``mlp.py``): one hidden layer of 100 ReLU units, trained by linclass's
   ``MLPClassifier``, linclass's own ``lc.nn`` loop, PyTorch and scikit-learn;
2. cold start (``cold_start.py``): whole processes of a 1-epoch and a 15-epoch fit, for linclass, the
   NumPy loop and PyTorch;
3. a busy machine (``busy_machine.py``): the same training with one CPU-bound process beside it;
4. ``linclass train`` from start to finish (process start, data loading and the run folder included),
   timed from outside, to the first epoch count that reaches 84% test accuracy, five times with its
   pictures and five times without (``--no-report``), interleaved;
5. the engine's overhead per operation against PyTorch (``engine_overhead.py``).

The results replace the part of docs/performance.md between its two ``benchmark results`` markers;
the plot goes beside it as ``docs/performance-training.png``. Each target the project set is checked
and printed as met or missed.

    python benchmarks/run_all.py            # the full run: about 12 minutes on 2 cores
    python benchmarks/run_all.py --quick    # a quick check (writes nothing unless --docs is given)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from statistics import median

import busy_machine
import cold_start
import mlp
import training
from mlp_contenders import ESTIMATOR, PYTORCH

HERE = Path(__file__).resolve().parent
DOCS = HERE.parent / "docs" / "performance.md"
PLOT_NAME = "performance-training.png"
START, END = "<!-- benchmark results: start -->", "<!-- benchmark results: end -->"
CLI_EPOCHS = (5, 6, 8, 10)        # tried in turn until one reaches the target accuracy
CLI_OPTIONS = ["--data", "fashion-mnist", "--lr", "0.1", "--schedule", "cosine", "--quiet", "--json", "--test"]


@dataclass
class CliRun:
    epochs: int
    seconds: float
    test_accuracy: float | None
    command: str
    summary_seconds: float  # when the summary was printed (the model saved), before the pictures
    report: bool = True     # False: run with --no-report, which leaves out the pictures and report.html


def linclass_command() -> list[str]:
    """The installed ``linclass`` script beside this Python (no shell shims), else ``python -m linclass.cli``."""
    script = Path(sys.executable).with_name("linclass")
    return [str(script)] if script.exists() else [sys.executable, "-m", "linclass.cli"]


def time_cli(epochs: int, report: bool = True) -> CliRun | str:
    """``linclass train`` in a fresh process, timed from outside: its seconds and test accuracy."""
    with tempfile.TemporaryDirectory() as folder:
        arguments = ["linclass", "train", *CLI_OPTIONS, *([] if report else ["--no-report"]),
                     "--epochs", str(epochs), "--out", f"{folder}/run"]
        start = time.perf_counter()
        process = subprocess.Popen(linclass_command() + arguments[1:], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        assert process.stdout is not None and process.stderr is not None
        summary_line = process.stdout.readline()  # --json prints the summary as one line, before the pictures
        summary_seconds = time.perf_counter() - start
        rest, errors = process.communicate()
        seconds = time.perf_counter() - start
    if process.returncode != 0:
        lines = errors.strip().splitlines() or ["(no output)"]
        return f"linclass train failed: {lines[-1]}"
    summary = json.loads(summary_line + rest)
    accuracy = _find_test_accuracy(summary)
    command = " ".join(arguments[:-2] + ["--out", "RUN_DIR"])
    return CliRun(epochs, seconds, accuracy, command, summary_seconds, report)


def _find_test_accuracy(summary: dict) -> float | None:
    """The test accuracy in ``--json``'s summary, wherever the command puts it."""
    for key, value in summary.items():
        if isinstance(value, dict):
            found = _find_test_accuracy(value)
            if found is not None:
                return found
        elif "test" in key and "acc" in key and isinstance(value, (int, float)):
            return float(value)
    return None


def cli_end_to_end(quick: bool) -> list[CliRun] | str:
    """The fewest epochs (of :data:`CLI_EPOCHS`) at which ``linclass train`` reaches the target, timed
    five times (once when quick) with its pictures and as often with ``--no-report``, alternately; or
    why it could not run."""
    from linclass.cli import COMMANDS

    if "train" not in COMMANDS:
        return "the `linclass train` command is not registered yet"
    for epochs in CLI_EPOCHS:
        first = time_cli(epochs)
        if isinstance(first, str):
            return first
        if first.test_accuracy is not None and first.test_accuracy >= training.TARGET_ACCURACY:
            runs = [first, time_cli(epochs, report=False)]
            for _ in range(0 if quick else 4):
                runs += [time_cli(epochs), time_cli(epochs, report=False)]
            failed = [run for run in runs if isinstance(run, str)]
            return failed[0] if failed else [run for run in runs if isinstance(run, CliRun)]
    return [first]


def engine_overhead(quick: bool) -> str:
    """The engine benchmark's markdown table (it runs in its own process, single-threaded)."""
    command = [sys.executable, str(HERE / "engine_overhead.py")] + (["--quick"] if quick else [])
    finished = subprocess.run(command, capture_output=True, text=True)
    if finished.returncode != 0:
        return f"engine_overhead.py failed: {(finished.stderr.strip().splitlines() or ['?'])[-1]}"
    return finished.stdout.strip()


def small_op_ratios(engine_table: str) -> dict[str, float]:
    """Forward+backward ratio (linclass / PyTorch) of each small-tensor operation in the engine table."""
    ratios = {}
    for line in engine_table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 8 and cells[1].startswith("small"):
            ratios[cells[0]] = float(cells[7])
    return ratios


@dataclass
class Sections:
    """The sections measured besides the training table, each with the load average around it."""

    mlp: training.Results
    cold: cold_start.ColdStart
    busy: list[busy_machine.BusyRuns]
    cli: list[CliRun] | str
    engine_table: str
    loads: dict[str, tuple[float, float]]  # section -> 1-minute load average before and after


def load_average() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def measured(loads: dict[str, tuple[float, float]], name: str, measure):
    """``measure()``, with the load average before and after it kept in ``loads[name]``."""
    print(f"{name}", file=sys.stderr, flush=True)
    before = load_average()
    result = measure()
    loads[name] = (before, load_average())
    return result


def load_note(sections: Sections, name: str) -> str:
    before, after = sections.loads.get(name, (float("nan"), float("nan")))
    return f"Load average (1 minute) of the 2-core machine before and after: {before:.2f}, {after:.2f}."


def targets(results: training.Results, sections: Sections) -> list[str]:
    """Each target of the project, the measured figure, and whether it is met."""
    by_name = {c.name: c for c in results.contenders}
    fused, autograd = by_name["linclass fused"], by_name["linclass autograd"]
    numpy_loop, torch = by_name["NumPy loop"], by_name["PyTorch"]
    lines = []

    def check(label: str, value: float | None, limit: float, unit: str = "×") -> None:
        if value is None:
            lines.append(f"- {label}: not measured")
        else:
            verdict = "met" if value <= limit else f"missed by {value / limit:.2f}×"
            lines.append(f"- {label}: {value:.2f}{unit} (target ≤ {limit:g}{unit}) — {verdict}")

    def ratio(a: training.Contender, b: training.Contender) -> float | None:
        if a.seconds_per_epoch is None or b.seconds_per_epoch is None:
            return None
        return a.seconds_per_epoch / b.seconds_per_epoch

    check("fused path per epoch / NumPy loop", ratio(fused, numpy_loop), 1.0)
    check("fused path per epoch / PyTorch", ratio(fused, torch), 0.5)
    check("autograd path per epoch / fused path", ratio(autograd, fused), 1.5)
    for contender in (fused, autograd):
        if contender.memory is not None:
            check(f"peak memory of {contender.name} training / float32 training array",
                  contender.memory.times_array(results.train_array_bytes), 2.5)
    networks = {c.name: c for c in sections.mlp.contenders}
    estimator = networks[ESTIMATOR]
    check(f"MLP: {ESTIMATOR} per epoch / PyTorch", ratio(estimator, networks[PYTORCH]), 1.0)
    check(f"MLP: peak memory of {ESTIMATOR} training / float32 training array",
          None if estimator.memory is None else estimator.memory.times_array(sections.mlp.train_array_bytes), 2.5)
    cold = {runs.name: runs for runs in sections.cold.runs}
    if "linclass fused" in cold and "NumPy loop" in cold:
        check("cold start: linclass's setup in a fresh process (15-epoch fit less its epochs)",
              cold["linclass fused"].setup(15), 0.3, " s")
        mine = cold["linclass fused"].median_of(cold["linclass fused"].fit, 15)
        theirs = cold["NumPy loop"].median_of(cold["NumPy loop"].fit, 15)
        check("cold start: linclass's 15-epoch fit / the NumPy loop's", None if mine is None or not theirs
              else mine / theirs, 0.8)
    busy = {runs.name: runs for runs in sections.busy}
    if "linclass fused" in busy:
        check("one core busy: linclass's seconds per epoch / its quiet ones", busy["linclass fused"].slowdown, 1.3)
    if busy_machine.ONE_THREAD in busy:
        floor = busy[busy_machine.ONE_THREAD].slowdown
        lines.append(f"  - the machine's own slowdown of one thread beside the busy core: "
                     f"{'—' if floor is None else f'{floor:.2f}×'} (linclass held to 1 BLAS thread, busy / quiet)")
    cli = sections.cli
    if isinstance(cli, str):
        lines.append(f"- `linclass train` to {training.TARGET_ACCURACY:.0%}: not measured ({cli})")
    else:
        reached = cli[0].test_accuracy is not None and cli[0].test_accuracy >= training.TARGET_ACCURACY
        for report, which in ((True, "with its pictures"), (False, "without them (`--no-report`)")):
            runs = [run for run in cli if run.report == report]
            if runs:
                check(f"`linclass train` start to finish {which}, {cli[0].epochs} epochs, test accuracy "
                      f"{_percent(cli[0].test_accuracy)}{'' if reached else ' (below the target accuracy)'} "
                      f"(median of {len(runs)})", median(run.seconds for run in runs), 3.0, " s")
    ratios = small_op_ratios(sections.engine_table)
    if ratios:
        worst = max(ratios, key=ratios.get)
        check(f"engine forward+backward of a small op / PyTorch (worst: {worst}; median "
              f"{median(ratios.values()):.2f}×)", ratios[worst], 1.5)
    return lines


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.2%}"


def cli_section(cli: list[CliRun] | str) -> str:
    if isinstance(cli, str):
        return f"Not measured: {cli}."
    drawn = [run for run in cli if run.report]
    seconds = [run.seconds for run in drawn]
    text = (f"`{cli[0].command}`, timed from outside (a fresh Python process; data loading, preprocessing, "
            f"training, the run folder and its report included): median {median(seconds):.2f} s of "
            f"{len(seconds)} run(s) ({', '.join(f'{s:.2f}' for s in seconds)}), test accuracy "
            f"{_percent(cli[0].test_accuracy)} after {cli[0].epochs} epochs. The summary (the model and "
            f"`summary.json` on disk) was printed after a median {median(run.summary_seconds for run in drawn):.2f} s; "
            "the rest is the pictures and the report.")
    bare = [run.seconds for run in cli if not run.report]
    if bare:
        text += (f" With `--no-report` (no pictures and no report.html; `linclass train --resume RUN_DIR` draws "
                 f"them later), run alternately with the former: median {median(bare):.2f} s "
                 f"({', '.join(f'{s:.2f}' for s in bare)}).")
    return text


def results_markdown(results: training.Results, sections: Sections, command: str) -> str:
    linclass_threads = next((runs.threads for runs in sections.cold.runs if runs.threads), "—")
    return "\n".join([
        START,
        f"Measured with `{command}` on {time.strftime('%Y-%m-%d')}.",
        "",
        "### The machine",
        "",
        results.machine_text,
        "",
        "### Training: Fashion-MNIST, one linear softmax classifier",
        "",
        training.settings_line(results) + ".",
        "",
        training.table(results),
        "",
        f"![test accuracy against training seconds]({PLOT_NAME})",
        "",
        "### Training: Fashion-MNIST, a network with one hidden layer",
        "",
        mlp.settings_line(sections.mlp) + ".",
        "",
        mlp.table(sections.mlp),
        "",
        "### Cold start: a fresh process per fit",
        "",
        "Seconds; *process* is timed from outside (Python's start, loading the 157 MB training array from "
        "`.npy`, the import and the fit), *import* is the contender's library (linclass's estimator, "
        "which imports NumPy only, or PyTorch), *fit* is the fit alone, and *setup* is linclass's fit less the seconds "
        "of its epochs. Medians of interleaved repeats.",
        "",
        cold_start.table(sections.cold.runs),
        "",
        f"linclass's BLAS threads: {linclass_threads}. {load_note(sections, 'cold start')}",
        "",
        cold_start.parts_line(sections.cold.parts),
        "",
        "### A busy machine: one CPU-bound process beside the training",
        "",
        "Seconds per epoch (the first epoch of each fit left out), quiet rounds and rounds with a spinning "
        "process beside them, alternating; *before* is linclass with a BLAS thread per usable CPU, as it ran "
        "before it chose its thread count.",
        "",
        busy_machine.table(sections.busy),
        "",
        load_note(sections, "busy machine"),
        "",
        "### `linclass train`, start to finish",
        "",
        cli_section(sections.cli),
        load_note(sections, "linclass train"),
        "",
        "### The engine's overhead per operation",
        "",
        sections.engine_table,
        "",
        "### Targets",
        "",
        *targets(results, sections),
        END,
    ])


def write_docs(path: Path, block: str) -> None:
    """Replace the results block of ``path`` (append one if it has none), atomically."""
    from linclass.files import write_atomically

    text = path.read_text(encoding="utf-8") if path.exists() else "# Performance\n\n"
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.DOTALL)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + block + "\n"
    write_atomically(path, text.encode("utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs and repeats; nothing written by default")
    default = DOCS.relative_to(HERE.parent)
    parser.add_argument("--docs", type=Path, default=None,
                        help=f"the markdown file whose results block to replace (default {default} for a full "
                             "run, none for --quick)")
    args = parser.parse_args()
    docs = args.docs if args.docs is not None or args.quick else DOCS
    command = "python benchmarks/run_all.py" + (" --quick" if args.quick else "")

    results = training.run(args.quick)
    loads: dict[str, tuple[float, float]] = {}
    networks = measured(loads, "MLP", lambda: mlp.run(args.quick))
    cold = measured(loads, "cold start", lambda: cold_start.run(args.quick))
    busy = measured(loads, "busy machine", lambda: busy_machine.run(args.quick))
    cli = measured(loads, "linclass train", lambda: cli_end_to_end(args.quick))
    engine_table = measured(loads, "engine overhead", lambda: engine_overhead(args.quick))
    block = results_markdown(results, Sections(networks, cold, busy, cli, engine_table, loads), command)
    print(block)
    if docs is not None:
        docs.parent.mkdir(parents=True, exist_ok=True)
        training.plot(results, docs.parent / PLOT_NAME)
        write_docs(docs, block)
        print(f"\nwritten: {docs} and {docs.parent / PLOT_NAME}", file=sys.stderr)


if __name__ == "__main__":
    main()
