"""Training speed of linclass's MLP next to its own ``lc.nn`` loop, PyTorch and scikit-learn.

One hidden layer of 100 ReLU units on Fashion-MNIST (the linear benchmark's 50000 training and 10000
test images, preprocessed the same way), softmax cross-entropy, L2 on the weight matrices, momentum SGD,
batch 256, 10 epochs; see ``mlp_contenders.py``. It is measured by ``training.py``'s machinery, as the
linear classifier is: the mini-batch contenders interleaved in this process after an untimed warm-up
epoch each, *seconds per epoch* the median over all epochs of all repeats (the test accuracy after each
epoch computed outside the clock); scikit-learn fitted once in a fresh process, its seconds per epoch
the fit's seconds over its epochs (``n_iter_``); the peak memory of every contender from one more run
in a fresh process, as a multiple of the float32 training array.

    python benchmarks/mlp.py                 # full run: about a minute and a half on 2 cores
    python benchmarks/mlp.py --quick         # 3 epochs, 2 repeats, scikit-learn on 5000 examples
    python benchmarks/mlp.py --no-sklearn    # the mini-batch contenders only
"""

from __future__ import annotations

import argparse
from pathlib import Path

import training
from mlp_contenders import HIDDEN, MINIBATCH_CONTENDERS, PYTORCH, SKLEARN_NAMES, sklearn_estimators
from training_contenders import Settings

MLP = training.Benchmark(Path(__file__).resolve(), MINIBATCH_CONTENDERS, sklearn_estimators, SKLEARN_NAMES,
                         full=training.Plan(Settings(epochs=10), repeats=3, sklearn_examples=None),
                         quick=training.Plan(Settings(epochs=3), repeats=2, sklearn_examples=5000),
                         libraries=("torch", "linclass.nn.classifier"), sklearn_epochs=True)
"""The MLP benchmark: the contenders of ``mlp_contenders.py``, the linear benchmark's recipe for 10 epochs."""

MODEL = f"784–{HIDDEN}–10 network (ReLU), softmax cross-entropy, L2 penalty on the weight matrices"


def run(quick: bool = False, sklearn: bool = True) -> training.Results:
    """Measure every contender (scikit-learn's only when ``sklearn``); see the module docstring for how."""
    return training.run(quick, sklearn, MLP, machine_figures=False)


def table(results: training.Results) -> str:
    """The results as a markdown table, seconds per epoch as multiples of PyTorch's."""
    return training.table(results, references=(PYTORCH,), time_to_target=False)


def settings_line(results: training.Results) -> str:
    return training.settings_line(results, MODEL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=MLP.quick.summary)
    parser.add_argument("--no-sklearn", action="store_true", help="leave out the scikit-learn fit")
    parser.add_argument("--child", metavar="CONTENDER", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        training.child_main(MLP, args.child, args.quick)
        return
    results = run(args.quick, sklearn=not args.no_sklearn)
    print(settings_line(results) + "\n\n" + table(results))


if __name__ == "__main__":
    main()
