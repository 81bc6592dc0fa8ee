"""The playground's web app (Starlette): the page, its assets, and a small stateless JSON API.

Routes
------
``GET /``                      the page (``static/index.html``); its assets under ``/static/``.
``GET /api/options``           the losses, penalties, activations and limits the server accepts.
``GET /api/preset/{name}``     a seeded data set: ``?classes=3&per_class=12&seed=0``.
``POST /api/evaluate``         the losses and every point's scores for the sent points, W and b (and
                               hidden layer, see :mod:`~linclass.playground.requests`).
``POST /api/step``             the same after ``steps`` steps of gradient descent (fields of
                               :data:`~linclass.playground.requests.TRAINING_FIELDS` added).

Each POST carries the whole state; the server keeps none. A refused request is answered with a 4xx
status and ``{"error": "..."}``; nothing a client sends can stop the server.

The server answers its own page only. A request whose ``Host`` is not one of the names it serves
(127.0.0.1, localhost) is refused, so a web page cannot reach it through DNS rebinding; a POST must be
JSON (``Content-Type: application/json``, which a cross-site form cannot send) from the page's own
origin (``Origin`` and ``Sec-Fetch-Site``, where the browser sends them). The arithmetic of a POST runs
in a worker thread, one request at a time and within :data:`REQUEST_SECONDS`, so that the event loop
stays free to answer everyone else.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Awaitable, Callable, Mapping, Sequence

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from linclass.constraints import OptionalOf
from linclass.errors import DivergenceError
from linclass.playground import requests, state
from linclass.playground.presets import PLANE_LIMIT, PRESETS, make_preset
from linclass.losses import LOSSES
from linclass.nn.network import ACTIVATIONS, NETWORK_PARAMETERS
from linclass.regularizers import PENALTIES
from linclass.train import HYPERPARAMETERS

STATIC_DIR = Path(__file__).with_name("static")
MAX_PER_CLASS = 1000
SERVED_HOSTS = ("127.0.0.1", "localhost")
REQUEST_SECONDS = 5.0
"""The time a POST's arithmetic may take. The heaviest linear request the limits allow takes about 1 s; a
network of 16 hidden units on 5000 points takes about 8 ms a step, so past some 600 steps it is refused."""
PAGE_SETTINGS = ("loss", "delta", "penalty", "reg", "lr")  # the page starts from their declared defaults
SAME_ORIGIN_FETCHES = ("same-origin", "none")  # Sec-Fetch-Site of the page's own requests, or a typed URL
log = logging.getLogger("linclass.playground")


async def page(request: Request) -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html")


def json_endpoint(handler: Callable[[Request], Awaitable[dict]]) -> Callable[[Request], Awaitable[Response]]:
    """Wrap ``handler`` so its dict becomes JSON and a refused request an ``{"error": ...}`` answer."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        try:
            return JSONResponse(await handler(request))
        except requests.RequestError as error:
            return _error(str(error), error.status)
        except DivergenceError as error:
            return _error(str(error), 422)
        except TimeoutError as error:
            return _error(str(error), 503)
        except ClientDisconnect:  # nobody is left to answer
            log.info("a client hung up before its request arrived whole: %s %s", request.method, request.url.path)
            return Response(status_code=400)

    return endpoint


async def off_the_loop(request: Request, work: Callable[..., Any], *arguments: Any) -> Any:
    """``work(*arguments, deadline=...)`` in a worker thread, one at a time, within :data:`REQUEST_SECONDS`.

    The deadline starts when the work does, not while it waits for the one before it.
    """
    def timed() -> Any:
        return work(*arguments, deadline=time.monotonic() + REQUEST_SECONDS)

    return await anyio.to_thread.run_sync(timed, limiter=request.app.state.limiter)


def check_post(request: Request) -> None:
    """Refuse a POST that is not JSON, or that comes from a page of another origin."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise requests.RequestError(f"the request must be sent as application/json, not {media_type or 'nothing'}",
                                    status=415)
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.headers.get('host', '')}":
        raise requests.RequestError(f"requests from {origin} are not answered; use the playground's own page",
                                    status=403)
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in SAME_ORIGIN_FETCHES:
        raise requests.RequestError(f"{fetch_site} requests are not answered; use the playground's own page",
                                    status=403)


@json_endpoint
async def options(request: Request) -> dict:
    return {
        "losses": [{"name": name, "title": loss.title, "formula": loss.formula, "margin": "delta" in loss.options}
                   for name, loss in LOSSES.items()],
        "defaults": {name: HYPERPARAMETERS[name].default for name in PAGE_SETTINGS},
        "lr_default": _none_means("lr"),
        "penalties": [{"name": name, "title": f"{item.title}  {item.formula}"} for name, item in PENALTIES.items()],
        "activations": list(ACTIVATIONS),
        "default_activation": NETWORK_PARAMETERS["activation"].default,
        "max_hidden_units": requests.MAX_HIDDEN_UNITS,
        "presets": list(PRESETS),
        "plane_limit": PLANE_LIMIT,
        "max_points": requests.MAX_POINTS,
        "max_classes": requests.MAX_CLASSES,
        "max_steps": requests.MAX_STEPS,
    }


def _none_means(name: str) -> str:
    """What None stands for in setting ``name`` ("from the data" for lr), as its declaration says."""
    constraint = HYPERPARAMETERS[name].constraint
    assert isinstance(constraint, OptionalOf), f"{name} is not a setting that may be None"
    return constraint.meaning


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
    check_post(request)
    plane = requests.parse_plane(requests.parse_json(await _read_body(request)))
    return await off_the_loop(request, _evaluate, plane)


@json_endpoint
async def step(request: Request) -> dict:
    check_post(request)
    payload = requests.parse_json(await _read_body(request))
    plane = requests.parse_plane(payload, allowed=requests.PLANE_FIELDS + requests.TRAINING_FIELDS)
    training = requests.parse_training(payload, len(plane.points))
    return await off_the_loop(request, _step, plane, training)


def _evaluate(plane: state.Plane, deadline: float) -> dict:
    return state.evaluate(plane)


def _step(plane: state.Plane, training: state.Training, deadline: float) -> dict:
    lr = state.step_size(plane, training)  # measured once: the steps take it and the answer reports it
    trained = state.train(plane, replace(training, lr=lr), deadline)
    return {**state.evaluate(trained), "steps": training.steps, "lr": lr}


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


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """The answer to an ``HTTPException``, the one kind this handler is registered for (Starlette's
    types let a handler name no narrower kind than ``Exception``)."""
    assert isinstance(exc, HTTPException)
    return _error(exc.detail, exc.status_code)


async def _server_error(request: Request, exc: Exception) -> JSONResponse:
    return _error(f"internal error ({type(exc).__name__}); the server is still running", 500)


def create_app(hosts: Sequence[str] = SERVED_HOSTS) -> Starlette:
    """The playground's Starlette application (serve it with uvicorn, or test it with TestClient).

    ``hosts`` are the names in a ``Host`` header it answers (with any port); others get status 400.
    """
    routes = [
        Route("/", page),
        Route("/api/options", options),
        Route("/api/preset/{name}", preset),
        Route("/api/evaluate", evaluate, methods=["POST"]),
        Route("/api/step", step, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    handlers = {HTTPException: _http_error, Exception: _server_error}
    app = Starlette(routes=routes, exception_handlers=handlers,
                    middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=list(hosts))])
    app.state.limiter = anyio.CapacityLimiter(1)
    return app
