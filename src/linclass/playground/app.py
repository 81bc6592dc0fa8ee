"""The playground's web app (Starlette): the page, its assets, and a small stateless JSON API.

Routes
------
``GET /``                      the page (``static/index.html``); its assets under ``/static/``.
``GET /api/options``           the losses, penalties and limits the server accepts.
``GET /api/preset/{name}``     a seeded data set: ``?classes=3&per_class=12&seed=0``.
``POST /api/evaluate``         the losses and every point's scores for the sent points, W and b.
``POST /api/step``             the same after ``steps`` steps of gradient descent (fields of
                               :data:`~linclass.playground.requests.TRAINING_FIELDS` added).

Each POST carries the whole state; the server keeps none. A refused request is answered with a 4xx
status and ``{"error": "..."}``; nothing a client sends can stop the server.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Awaitable, Callable, Mapping

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from linclass.errors import DivergenceError
from linclass.playground import requests, state
from linclass.playground.presets import PLANE_LIMIT, PRESETS, make_preset
from linclass.losses import LOSS_KERNELS
from linclass.regularizers import PENALTIES

STATIC_DIR = Path(__file__).with_name("static")
LOSS_TITLES = {
    "svm": "SVM (Weston–Watkins hinge)",
    "squared_hinge": "Squared hinge (L2-SVM)",
    "softmax": "Softmax (cross-entropy)",
}
PENALTY_TITLES = {"l1": "L1  Σ|W|", "l2": "L2  ΣW²", "elasticnet": "Elastic net"}
MAX_PER_CLASS = 1000


async def page(request: Request) -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html")


def json_endpoint(handler: Callable[[Request], Awaitable[dict]]) -> Callable[[Request], Awaitable[JSONResponse]]:
    """Wrap ``handler`` so its dict becomes JSON and a refused request an ``{"error": ...}`` answer."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> JSONResponse:
        try:
            return JSONResponse(await handler(request))
        except requests.RequestError as error:
            return _error(str(error), error.status)
        except DivergenceError as error:
            return _error(str(error), 422)

    return endpoint


@json_endpoint
async def options(request: Request) -> dict:
    return {
        "losses": [{"name": name, "title": LOSS_TITLES.get(name, name), "margin": name in state.MARGIN_LOSSES}
                   for name in LOSS_KERNELS],
        "penalties": [{"name": name, "title": PENALTY_TITLES.get(name, name)}
                      for name in PENALTIES if name is not None],
        "presets": list(PRESETS),
        "plane_limit": PLANE_LIMIT,
        "max_points": requests.MAX_POINTS,
        "max_classes": requests.MAX_CLASSES,
        "max_steps": requests.MAX_STEPS,
    }


@json_endpoint
async def preset(request: Request) -> dict:
    name = request.path_params["name"]
    if name not in PRESETS:
        raise requests.RequestError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}", status=404)
    query = request.query_params
    classes = _query_integer(query, "classes", 3, 2, requests.MAX_CLASSES)
    per_class = _query_integer(query, "per_class", 12, 1, min(MAX_PER_CLASS, requests.MAX_POINTS // classes))
    seed = _query_integer(query, "seed", 0, 0, 2**32 - 1)
    points, labels = make_preset(name, classes, per_class, seed)
    return {"name": name, "classes": classes, "points": points.tolist(), "labels": labels.tolist()}


@json_endpoint
async def evaluate(request: Request) -> dict:
    plane = requests.parse_plane(requests.parse_json(await _read_body(request)))
    return state.evaluate(plane)


@json_endpoint
async def step(request: Request) -> dict:
    payload = requests.parse_json(await _read_body(request))
    plane = requests.parse_plane(payload, allowed=requests.PLANE_FIELDS + requests.TRAINING_FIELDS)
    training = requests.parse_training(payload, len(plane.points))
    return {**state.evaluate(state.train(plane, training)), "steps": training.steps}


async def _read_body(request: Request) -> bytes:
    """The request body, refused (413) as soon as it grows past the limit rather than after reading it all."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > requests.MAX_BODY_BYTES:
            raise requests.RequestError(f"the request body is larger than {requests.MAX_BODY_BYTES} bytes; "
                                        f"send at most {requests.MAX_POINTS} points", status=413)
        chunks.append(chunk)
    return b"".join(chunks)


def _query_integer(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = query.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise requests.RequestError(f"{name} must be an integer, not {text!r}") from None
    if not low <= value <= high:
        raise requests.RequestError(f"{name} = {value} is out of range; send {low} to {high}")
    return value


def _error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    return _error(exc.detail, exc.status_code)


async def _server_error(request: Request, exc: Exception) -> JSONResponse:
    return _error(f"internal error ({type(exc).__name__}); the server is still running", 500)


def create_app() -> Starlette:
    """The playground's Starlette application (serve it with uvicorn, or test it with TestClient)."""
    routes = [
        Route("/", page),
        Route("/api/options", options),
        Route("/api/preset/{name}", preset),
        Route("/api/evaluate", evaluate, methods=["POST"]),
        Route("/api/step", step, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    handlers = {HTTPException: _http_error, Exception: _server_error}
    return Starlette(routes=routes, exception_handlers=handlers)
