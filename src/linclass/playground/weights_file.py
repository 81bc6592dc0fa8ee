"""Read back the weights the playground page exports ("Export weights") as NumPy arrays.

The file is a JSON object in the API's own field names (see :mod:`linclass.playground.requests`)::

    {"W": [[...], ...], "b": [...], "hidden": null or {"W": [[...], ...], "b": [...], "activation": ...},
     "loss": ..., "delta": ..., "penalty": ..., "reg": ...}

with the loss and penalty it was trained by, so that, with ``points`` and ``labels`` added, it is a
request ``/api/evaluate`` takes. It is checked as the server checks a request, so a file the page would
not have written is refused in one line.
To score new points with it::

    from dataclasses import replace
    from linclass.playground import load_weights
    from linclass.playground.state import scores

    plane = load_weights("weights.json")        # plane.W, plane.b, plane.hidden.W, ... as float64 arrays
    scores(replace(plane, points=X))            # X: (N, 2) float64; the class scores, (N, K)
"""

from __future__ import annotations

import os
from pathlib import Path

from linclass.playground import requests
from linclass.playground.state import Plane


def load_weights(path: str | os.PathLike) -> Plane:
    """The classifier in the weights file ``path``, as a :class:`~linclass.playground.state.Plane` with
    no points (unless the file holds some, with their labels).

    Raises
    ------
    ValueError
        When the file is larger than a request may be, is not JSON, or holds a field the API would refuse;
        the message names the file and the field.
    """
    path = Path(path)
    with path.open("rb") as stream:
        body = stream.read(requests.MAX_BODY_BYTES + 1)
    if len(body) > requests.MAX_BODY_BYTES:
        raise ValueError(f"{path}: larger than the {requests.MAX_BODY_BYTES} bytes a playground weights file takes")
    try:
        return requests.parse_plane(requests.parse_json(body))
    except requests.RequestError as error:
        raise ValueError(f"{path}: {error}") from None
