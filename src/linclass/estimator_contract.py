"""scikit-learn's estimator contract, kept without importing scikit-learn.

A classifier that inherits ``sklearn.base.BaseEstimator`` pays for importing scikit-learn, about a
second of SciPy's statistics before the first epoch, in every process that trains, even one that never
touches a ``Pipeline``. So :class:`ClassifierContract` implements the contract itself: ``get_params``,
``set_params``, the repr, ``score`` and the tags that scikit-learn asks for. Input is checked here when
it is what nearly every caller passes, a numeric NumPy array; anything else (lists, data frames, sparse
or memory-mapped matrices, empty or odd shapes) goes to scikit-learn's own ``validate_data``, so that
its conversions, warnings and error messages stay exactly scikit-learn's. scikit-learn is imported only
then, or when it calls in itself (cloning, tags, the notebook diagram).
"""

from __future__ import annotations

import inspect
import sys
import warnings
from typing import TYPE_CHECKING, Any, Callable, Literal

import numpy as np

__all__ = ["ClassifierContract", "check_fitted", "checked_array", "checked_features", "checked_training_data",
           "one_column", "only_if", "convergence_warning"]

Order = Literal["C", "F"] | None  # the memory layout asked for; None keeps the array's own
PLAIN_FEATURE_KINDS = "biuf"  # bool, signed and unsigned integers, floats: converted like check_array would
PLAIN_LABEL_KINDS = "biuU"    # what check_classification_targets always accepts in a 1-D array


class ClassifierContract:
    """What ``ClassifierMixin`` and ``BaseEstimator`` give a classifier: parameters read from the
    constructor's signature, a repr of the changed ones, accuracy as ``score``, and classifier tags."""

    if TYPE_CHECKING:  # what a classifier that keeps the contract defines itself
        def predict(self, X: Any) -> np.ndarray: ...

    @classmethod
    def _get_param_names(cls) -> list[str]:
        """The constructor's parameter names, sorted (as scikit-learn lists them)."""
        return sorted(name for name in _constructor_defaults(cls))

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The hyperparameters by name; with ``deep``, also those of any estimator among them (``name__param``)."""
        params: dict[str, Any] = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                params.update((f"{name}__{key}", inner) for key, inner in value.get_params().items())
            params[name] = value
        return params

    def set_params(self, **params: Any) -> Any:
        """Set hyperparameters by name (``name__param`` reaches into an estimator among them); returns self."""
        valid = self.get_params(deep=True)
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, delimiter, inner = key.partition("__")
            if name not in valid:
                raise ValueError(f"Invalid parameter {name!r} for estimator {self}. Valid parameters are: "
                                 f"{self._get_param_names()!r}.")
            if delimiter:
                nested.setdefault(name, {})[inner] = value
            else:
                setattr(self, name, value)
                valid[name] = value
        for name, inner_params in nested.items():
            valid[name].set_params(**inner_params)
        return self

    def __repr__(self) -> str:
        """The class and the parameters that differ from their defaults, in the constructor's order."""
        changed = [f"{name}={value!r}" for name, default in _constructor_defaults(type(self)).items()
                   if repr(value := getattr(self, name)) != repr(default)]
        return f"{type(self).__name__}({', '.join(changed)})"

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """The accuracy of ``predict(X)`` against ``y`` (weighted by ``sample_weight`` when given)."""
        predicted = self.predict(X)
        if (sample_weight is None and _plain_labels(y, len(predicted))
                and _comparable(y.dtype, predicted.dtype)):  # float labels: accuracy_score checks them
            return float(np.mean(y == predicted))
        from sklearn.metrics import accuracy_score

        return float(accuracy_score(y, predicted, sample_weight=sample_weight))

    def __sklearn_tags__(self) -> Any:
        """A classifier's tags, as ``ClassifierMixin`` on ``BaseEstimator`` gives them (scikit-learn calls this)."""
        from sklearn.utils import ClassifierTags, Tags, TargetTags

        return Tags(estimator_type="classifier", target_tags=TargetTags(required=True), transformer_tags=None,
                    regressor_tags=None, classifier_tags=ClassifierTags())

    @property
    def _repr_html_(self) -> Callable[[], str]:
        """scikit-learn's estimator diagram, then what the classifier adds to it (:meth:`_html_extra`); like
        scikit-learn's, there only while its ``display`` setting is ``"diagram"``, the default."""
        if not _shows_diagram():
            raise AttributeError("_repr_html_ is only defined when the 'display' configuration option is set "
                                 "to 'diagram'")
        return self._diagram

    def _diagram(self) -> str:
        from sklearn.utils import estimator_html_repr

        return estimator_html_repr(self) + self._html_extra()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, str]:
        """What Jupyter displays: the repr as text, and the diagram as HTML unless ``display`` says text."""
        bundle = {"text/plain": repr(self)}
        if _shows_diagram():
            bundle["text/html"] = self._diagram()
        return bundle

    def _html_extra(self) -> str:
        """HTML shown below the diagram; nothing unless a subclass says more."""
        return ""

    def _get_params_html(self, deep: bool = True, doc_link: str = "") -> Any:
        """The diagram's table of parameters, as scikit-learn draws it for its own estimators."""
        from sklearn.base import BaseEstimator

        return BaseEstimator._get_params_html(self, deep, doc_link)

    def _get_fitted_attr_html(self, doc_link: str = "") -> Any:
        """The diagram's table of fitted attributes, as scikit-learn draws it for its own estimators."""
        from sklearn.base import BaseEstimator

        return BaseEstimator._get_fitted_attr_html(self, doc_link)

    # scikit-learn's metadata routing (``set_config(enable_metadata_routing=True)``), answered by its own
    # code: ``set_fit_request`` and its kin exist for the methods that take metadata (``fit``'s
    # ``X_val`` and ``y_val``, ``partial_fit``'s ``classes``, ``score``'s ``sample_weight``).

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for method in ROUTED_METHODS:
            if _metadata_of(cls, method):
                setattr(cls, f"set_{method}_request", _RequestSetter(method))

    def _get_metadata_request(self) -> Any:
        """scikit-learn's ``MetadataRequest`` of this classifier, made by its own code for a class of the
        same methods (:func:`_routing_twin`), with the requests set by ``set_{method}_request``."""
        twin: Any = object.__new__(_routing_twin(type(self)))
        if "_metadata_request" in vars(self):
            twin._metadata_request = vars(self)["_metadata_request"]
        return twin._get_metadata_request()

    def get_metadata_routing(self) -> Any:
        """The metadata each method requests (scikit-learn's ``MetadataRequest``)."""
        return self._get_metadata_request()


ROUTED_METHODS = ("fit", "partial_fit", "predict", "predict_proba", "predict_log_proba", "decision_function",
                  "score", "split", "transform", "inverse_transform")
"""The methods scikit-learn routes metadata to (its ``SIMPLE_METHODS``)."""
NOT_METADATA = ("X", "y", "Y", "Xt", "yt")
"""Parameters that are the data itself, never metadata."""


def _metadata_of(cls: type, method: str) -> list[str]:
    """The metadata ``cls.method`` takes: its parameters after ``self``, less the data and ``*args``, ``**kw``."""
    function = getattr(cls, method, None)
    if not inspect.isfunction(function):
        return []
    parameters = list(inspect.signature(function).parameters.values())[1:]
    return [p.name for p in parameters
            if p.name not in NOT_METADATA and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


_TWINS: dict[type, type] = {}


def _routing_twin(cls: type) -> type:
    """A class of scikit-learn's ``_MetadataRequester`` with ``cls``'s name and routed methods, whose
    routing (requests, ``set_{method}_request``) scikit-learn's own code works out; made once per class."""
    if cls not in _TWINS:
        from sklearn.utils._metadata_requests import _MetadataRequester

        methods = {name: getattr(cls, name) for name in ROUTED_METHODS
                   if inspect.isfunction(getattr(cls, name, None))}
        _TWINS[cls] = type(cls.__name__, (_MetadataRequester,),
                           {"__module__": cls.__module__, "__qualname__": cls.__qualname__, **methods,
                            "__reduce__": lambda twin: (_twin_of, (cls,))})  # requests name it as owner
    return _TWINS[cls]


def _twin_of(cls: type) -> Any:
    """An instance of :func:`_routing_twin` of ``cls``: what a pickled request's owner comes back as."""
    return object.__new__(_routing_twin(cls))


class _RequestSetter:
    """``set_{method}_request``: scikit-learn's own, taken from :func:`_routing_twin` when first used."""

    def __init__(self, method: str) -> None:
        self.method = method

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        cls = owner if owner is not None else type(instance)
        return inspect.getattr_static(_routing_twin(cls), f"set_{self.method}_request").__get__(instance, cls)


def _shows_diagram() -> bool:
    """Whether scikit-learn's ``display`` setting is ``"diagram"``: its default, so it is, unless
    scikit-learn has been imported and set otherwise."""
    if "sklearn" not in sys.modules:
        return True
    from sklearn import get_config

    return bool(get_config()["display"] == "diagram")


def _constructor_defaults(cls: type) -> dict[str, Any]:
    """Each constructor parameter's default, by name, in the signature's order."""
    signature = inspect.signature(cls)  # the constructor's, without self
    return {p.name: p.default for p in signature.parameters.values()
            if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}


def _comparable(first: np.dtype, second: np.dtype) -> bool:
    """Whether labels of these dtypes compare element by element (both numbers, or both strings)."""
    return (first.kind in "biuf") == (second.kind in "biuf") and (first.kind == "U") == (second.kind == "U")


def _plain_features(X: Any) -> bool:
    """A numeric NumPy array of examples and features, neither count zero: nothing scikit-learn would say."""
    return type(X) is np.ndarray and X.ndim == 2 and X.size > 0 and X.dtype.kind in PLAIN_FEATURE_KINDS


def _plain_labels(y: Any, count: int) -> bool:
    """A 1-D NumPy array of ``count`` integer, boolean or string labels."""
    return type(y) is np.ndarray and y.ndim == 1 and len(y) == count and y.dtype.kind in PLAIN_LABEL_KINDS


def _as_dtype(X: np.ndarray, dtype: Any, order: Order) -> np.ndarray:
    """``X`` in ``dtype`` (or, for a tuple, in its first dtype unless X already has one of them), no copy
    when it already is."""
    if isinstance(dtype, tuple):
        dtype = X.dtype if X.dtype in dtype else dtype[0]
    return np.asarray(X, dtype=dtype, order=order)


def _check_n_features(estimator: Any, X: np.ndarray, reset: bool) -> None:
    """Remember the number of features on a fresh fit; afterwards, insist on it (scikit-learn's message)."""
    if reset:
        estimator.n_features_in_ = X.shape[1]
        estimator.__dict__.pop("feature_names_in_", None)
    elif hasattr(estimator, "n_features_in_") and X.shape[1] != estimator.n_features_in_:
        raise ValueError(f"X has {X.shape[1]} features, but {type(estimator).__name__} is expecting "
                         f"{estimator.n_features_in_} features as input.")


def _knows_names(estimator: Any, reset: bool) -> bool:
    """Whether the estimator was fitted with feature names, which scikit-learn's checks compare."""
    return not reset and hasattr(estimator, "feature_names_in_")


def checked_features(estimator: Any, X: Any, *, reset: bool, dtype: Any, order: Order = None) -> np.ndarray:
    """``validate_data(estimator, X, reset=..., dtype=..., order=..., ensure_all_finite=False)``."""
    if _plain_features(X) and not _knows_names(estimator, reset):
        X = _as_dtype(X, dtype, order)
        _check_n_features(estimator, X, reset)
        return X
    from sklearn.utils.validation import validate_data

    return validate_data(estimator, X, reset=reset, dtype=dtype, order=order, ensure_all_finite=False)


def checked_training_data(estimator: Any, X: Any, y: Any, *, reset: bool, dtype: Any,
                          order: Order = None) -> tuple[np.ndarray, np.ndarray]:
    """``validate_data(estimator, X, y, ...)`` then ``check_classification_targets(y)``: features in
    ``dtype`` and class labels of a classification (not a regression) target."""
    if _plain_features(X) and _plain_labels(y, len(X)) and not _knows_names(estimator, reset):
        X = _as_dtype(X, dtype, order)
        _check_n_features(estimator, X, reset)
        _warn_if_like_a_regression(y)
        return X, y
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import validate_data

    X, y = validate_data(estimator, X, y, reset=reset, dtype=dtype, order=order, ensure_all_finite=False)
    check_classification_targets(y)
    return X, y


def _warn_if_like_a_regression(y: np.ndarray) -> None:
    """``check_classification_targets``'s warning: more than 20 labels, over half of them distinct.

    Integer labels spanning at most half as many values as there are labels cannot be (the fit's usual
    case, 0..9 for thousands of examples), so they are not sorted here a second time before the fit's own
    ``np.unique``."""
    half = round(0.5 * len(y))
    if len(y) <= 20 or (y.dtype.kind in "biu" and int(y.max()) - int(y.min()) + 1 <= half):
        return
    if len(np.unique(y)) > half:
        warnings.warn("The number of unique classes is greater than 50% of the number of samples. `y` could "
                      "represent a regression problem, not a classification problem.", UserWarning, stacklevel=2)


def checked_array(X: Any, *, dtype: Any, order: Order = None, input_name: str = "X") -> np.ndarray:
    """``check_array(X, dtype=..., order=..., ensure_all_finite=False, input_name=...)``."""
    if _plain_features(X):
        return _as_dtype(X, dtype, order)
    from sklearn.utils import check_array

    return check_array(X, dtype=dtype, order=order, ensure_all_finite=False, input_name=input_name)


def one_column(values: Any) -> np.ndarray:
    """``column_or_1d(values)``: a 1-D array of labels (a column vector is flattened, with its warning)."""
    if type(values) is np.ndarray and values.ndim == 1:
        return values
    from sklearn.utils import column_or_1d

    return column_or_1d(values, warn=True)


def check_fitted(estimator: Any) -> None:
    """``check_is_fitted(estimator)``: scikit-learn's ``NotFittedError`` unless some attribute ends in ``_``."""
    if any(name.endswith("_") and not name.startswith("__") for name in vars(estimator)):
        return
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)


def convergence_warning() -> type[Warning]:
    """scikit-learn's ``ConvergenceWarning``, the category its users filter for a fit that did not converge."""
    from sklearn.exceptions import ConvergenceWarning

    return ConvergenceWarning


class only_if:
    """A method that exists only when ``check(instance)`` passes: otherwise looking it up raises the
    AttributeError that ``check`` raises, so ``hasattr`` says False (scikit-learn's ``available_if``)."""

    def __init__(self, check: Callable[[Any], Any]) -> None:
        self.check = check

    def __call__(self, method: Callable[..., Any]) -> "only_if":
        self.method = method
        self.__doc__ = method.__doc__
        return self

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self.method
        self.check(instance)
        return self.method.__get__(instance, owner)
