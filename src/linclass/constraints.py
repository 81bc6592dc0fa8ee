"""What a setting may be: one constraint object per rule, one message for a broken rule everywhere.

As scikit-learn's ``_parameter_constraints``, each hyperparameter declares a constraint
(:mod:`linclass.train` declares them beside :class:`~linclass.train.TrainConfig`), and every layer asks
it: the estimator and ``TrainConfig`` call :meth:`Constraint.check`, the command line converts option
text with :meth:`Constraint.parse`, tune checks every value of a grid, the playground every field of a
request. A value that breaks the rule is refused with the same words wherever it came from::

    lr=-1 is not valid: expected a number > 0, e.g. 0.01
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, Sequence

import numpy as np

__all__ = ["Constraint", "OneOf", "Real", "Integer", "Boolean", "OptionalOf", "Function", "Sizes", "ByteSize",
           "refusal"]


def refusal(name: str, value: Any, constraint: "Constraint") -> str:
    """The one-line message for ``name=value`` breaking ``constraint``."""
    return f"{name}={value!r} is not valid: expected {constraint.describe()}"


class Constraint(ABC):
    """A rule a setting's value must follow."""

    @abstractmethod
    def accepts(self, value: Any) -> bool:
        """Whether ``value`` follows the rule."""

    @abstractmethod
    def describe(self) -> str:
        """What the rule allows, as the end of the sentence "expected ..."."""

    @abstractmethod
    def _read(self, text: str) -> Any:
        """``text`` as a value of the right kind (ValueError when it is not one), not yet checked."""

    def check(self, name: str, value: Any) -> Any:
        """``value`` itself, or a ValueError naming ``name``, the value and what is allowed."""
        if not self.accepts(value):
            raise ValueError(refusal(name, value, self))
        return value

    def show(self, value: Any) -> str:
        """``value`` as the command line would write it (in ``--help``'s defaults)."""
        return str(value)

    def parse(self, text: str) -> Any:
        """The value ``text`` (an option of the command line) stands for; ValueError saying what is allowed."""
        try:
            value = self._read(text.strip())
        except ValueError:
            raise ValueError(f"{text!r} is not valid: expected {self.describe()}") from None
        if not self.accepts(value):
            raise ValueError(f"{text} is not valid: expected {self.describe()}")
        return value


class OneOf(Constraint):
    """One of a few names; None among them is written ``none`` on the command line."""

    def __init__(self, choices: Sequence[str | None]) -> None:
        self.choices = tuple(choices)

    @property
    def names(self) -> tuple[str, ...]:
        """The choices as the command line writes them."""
        return tuple("none" if choice is None else choice for choice in self.choices)

    def accepts(self, value: Any) -> bool:
        return any(value is choice or (isinstance(value, str) and value == choice) for choice in self.choices)

    def describe(self) -> str:
        return "one of " + ", ".join(map(repr, self.choices))

    def _read(self, text: str) -> Any:
        return None if text == "none" and None in self.choices else text


class Real(Constraint):
    """A finite number between ``low`` and ``high``, each bound included unless said otherwise."""

    def __init__(self, low: float = -math.inf, high: float = math.inf, *, low_open: bool = False,
                 high_open: bool = False, example: str | None = None, note: str | None = None) -> None:
        self.low, self.high, self.low_open, self.high_open = low, high, low_open, high_open
        self.example, self.note = example, note

    def accepts(self, value: Any) -> bool:
        if not _is_real(value) or not math.isfinite(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return bool(above and below)

    def describe(self) -> str:
        return _with_notes(f"a number {_range(self.low, self.high, self.low_open, self.high_open)}",
                           self.note, self.example)

    def _read(self, text: str) -> Any:
        return float(text)


class Integer(Constraint):
    """A whole number of at least ``low`` (and at most ``high``)."""

    def __init__(self, low: int = 1, high: int | None = None, *, bools: bool = False) -> None:
        self.low, self.high, self.bools = low, high, bools

    def accepts(self, value: Any) -> bool:
        if not isinstance(value, (int, np.integer)) or (isinstance(value, (bool, np.bool_)) and not self.bools):
            return False
        return bool(value >= self.low and (self.high is None or value <= self.high))

    def describe(self) -> str:
        if self.high is None:
            return f"an integer >= {self.low}"
        return f"an integer from {self.low} to {self.high}"

    def _read(self, text: str) -> Any:
        return int(text)


class Boolean(Constraint):
    """True or False (a command line gives it as a flag)."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, (bool, np.bool_))

    def describe(self) -> str:
        return "True or False"

    def _read(self, text: str) -> Any:
        words = {"true": True, "false": False}
        if text.lower() not in words:
            raise ValueError(text)
        return words[text.lower()]


class OptionalOf(Constraint):
    """None, which means ``meaning``, or a value ``inner`` accepts."""

    def __init__(self, inner: Constraint, meaning: str) -> None:
        self.inner, self.meaning = inner, meaning

    def accepts(self, value: Any) -> bool:
        return value is None or self.inner.accepts(value)

    def describe(self) -> str:
        return f"{self.inner.describe()}, or None ({self.meaning})"

    def _read(self, text: str) -> Any:
        return None if text.lower() == "none" else self.inner._read(text)


class Function(Constraint):
    """None or something to call, with the arguments ``signature`` names."""

    def __init__(self, signature: str) -> None:
        self.signature = signature

    def accepts(self, value: Any) -> bool:
        return value is None or callable(value)

    def describe(self) -> str:
        return f"None or a function {self.signature}"

    def _read(self, text: str) -> Any:
        raise ValueError("a function cannot be written as text")


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _range(low: float, high: float, low_open: bool, high_open: bool) -> str:
    """``> 0``, ``>= 0``, ``in [0, 1)``: the interval in the fewest words."""
    if high == math.inf:
        return f"{'>' if low_open else '>='} {low:g}"
    if low == -math.inf:
        return f"{'<' if high_open else '<='} {high:g}"
    return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


def _with_notes(text: str, note: str | None, example: str | None) -> str:
    if note:
        text += f" ({note})"
    if example:
        text += f", e.g. {example}"
    return text


# -- declaring hyperparameters ---------------------------------------------------------------------------


class Hyperparameter:
    """One setting, declared once: its name, default, rule and help, and how the command line spells it.

    ``flag`` is the command line's name for it (``--schedule`` for ``lr_schedule``), None when the command
    line does not offer it; ``group`` is the part of ``--help`` it is listed in.
    """

    def __init__(self, name: str, default: Any, constraint: Constraint, help: str, flag: str | None,
                 metavar: str | None, group: str) -> None:
        self.name, self.default, self.constraint, self.help = name, default, constraint, help
        self.flag, self.metavar, self.group = flag, metavar, group

    def check(self, value: Any) -> Any:
        """``value``, or the one-line ValueError of this setting's rule."""
        return self.constraint.check(self.name, value)

    def with_default(self, default: Any) -> "Hyperparameter":
        """The same setting, rule and help with another default: for a model that starts best elsewhere."""
        return Hyperparameter(self.name, self.check(default), self.constraint, self.help, self.flag, self.metavar,
                              self.group)

    def __repr__(self) -> str:
        return f"Hyperparameter({self.name!r}, default={self.default!r})"

    def numpydoc(self) -> str:
        """This setting as an entry of a numpydoc ``Parameters`` section."""
        import textwrap

        help = textwrap.fill(self.help[0].upper() + self.help[1:] + ".", width=96,
                             initial_indent="    ", subsequent_indent="    ")
        return f"{self.name} : {self.constraint.describe()}, default {self.default!r}\n{help}"


OWN_NAME = "__own__"
"""``declare(flag=...)``'s default: the command line names the option after the hyperparameter."""


def declare(default: Any, constraint: Constraint, help: str, *, flag: str | None = OWN_NAME,
            metavar: str | None = None, group: str = "training") -> Any:
    """A dataclass field that declares a hyperparameter (read back by :func:`declared`)."""
    from dataclasses import field

    return field(default=default, metadata={"hyperparameter": (constraint, help, flag, metavar, group)})


def declared(cls: type) -> dict[str, Hyperparameter]:
    """The hyperparameters a dataclass declares with :func:`declare`, in their order."""
    from dataclasses import fields

    result = {}
    for item in fields(cls):
        constraint, help, flag, metavar, group = item.metadata["hyperparameter"]
        result[item.name] = Hyperparameter(item.name, item.default, constraint, help,
                                           item.name if flag == OWN_NAME else flag, metavar, group)
    return result


class Sizes(Constraint):
    """A non-empty sequence of whole numbers of at least 1 (at most ``most`` of them), as ``100,50`` on
    the command line: the sizes of a network's hidden layers."""

    def __init__(self, most: int = 16) -> None:
        self.most = most

    def accepts(self, value: Any) -> bool:
        if not isinstance(value, (tuple, list)) or not 1 <= len(value) <= self.most:
            return False
        return all(Integer(1).accepts(size) for size in value)

    def describe(self) -> str:
        return f"1 to {self.most} layer sizes, each an integer >= 1, e.g. (100,) or 100,50"

    def _read(self, text: str) -> Any:
        return tuple(int(part) for part in text.split(","))


class ByteSize(Constraint):
    """A number of bytes of at least ``low``, as ``64M`` or ``1GiB`` on the command line (powers of 1024)."""

    def __init__(self, low: int = 1, example: str = "64M") -> None:
        self.low, self.example = low, example

    def accepts(self, value: Any) -> bool:
        return Integer(self.low).accepts(value)

    def describe(self) -> str:
        return f"a size in bytes >= {self.low} (a number, or with K, M, G: powers of 1024), e.g. {self.example}"

    def show(self, value: Any) -> str:
        """The size in the largest unit that writes it whole: ``67108864`` as ``64M``."""
        for unit, factor in (("G", 2**30), ("M", 2**20), ("K", 2**10)):
            if value and value % factor == 0:
                return f"{value // factor}{unit}"
        return str(value)

    def _read(self, text: str) -> Any:
        from linclass.limits import parse_size

        size = parse_size(text)
        if size is None:
            raise ValueError(text)
        return size
