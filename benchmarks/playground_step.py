"""How long the playground waits for one training step: an HTTP round trip to a running server.

The page asks for a step, waits for the answer and draws it, so this round trip bounds how smoothly
the lines move. The request is what the page sends for "play" with one step per update: N points of
three classes, full-batch gradient, the answer holding every point's scores and loss. Target: a
median under 50 ms for 500 points.

    python benchmarks/playground_step.py                         # starts a server on a free port
    python benchmarks/playground_step.py --url http://127.0.0.1:8231/   # times a running one
    python benchmarks/playground_step.py --points 5000 --loss softmax
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import statistics
import time
from urllib.parse import urlsplit

import numpy as np

TARGET_MS = 50.0


def step_request(points: int, loss: str, seed: int = 0) -> bytes:
    """The body of a one-step request for ``points`` points, as the page builds it."""
    from linclass.playground.presets import make_preset

    per_class = -(-points // 3)
    X, y = make_preset("overlapping", classes=3, per_class=per_class, seed=seed)
    rng = np.random.default_rng(seed)
    return json.dumps({
        "points": X[:points].tolist(), "labels": y[:points].tolist(),
        "W": rng.normal(size=(3, 2)).tolist(), "b": rng.normal(size=3).tolist(),
        "loss": loss, "delta": 1.0, "penalty": "l2", "reg": 0.1,
        "lr": 0.05, "batch_size": None, "steps": 1, "seed": 0,
    }).encode()


def round_trips(url: str, body: bytes, requests: int, warmup: int = 10) -> list[float]:
    """Seconds for each of ``requests`` POST /api/step on one kept-alive connection."""
    address = urlsplit(url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    headers = {"Content-Type": "application/json"}
    times = []
    try:
        for i in range(warmup + requests):
            start = time.perf_counter()
            connection.request("POST", "/api/step", body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            elapsed = time.perf_counter() - start
            if response.status != 200:
                raise SystemExit(f"the server answered {response.status}: {answer[:200]!r}")
            if i >= warmup:
                times.append(elapsed)
    finally:
        connection.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running playground (default: start one on a free port)")
    parser.add_argument("--points", type=int, default=500)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--loss", default="svm", choices=["svm", "squared_hinge", "softmax"])
    args = parser.parse_args()

    from linclass.playground import background_server

    body = step_request(args.points, args.loss)
    server = contextlib.nullcontext(args.url) if args.url else background_server(port=0)
    with server as url:
        times_ms = [1000 * t for t in round_trips(url, body, args.requests)]
    median = statistics.median(times_ms)
    p90 = statistics.quantiles(times_ms, n=10)[-1]
    print(f"POST /api/step, {args.points} points, {args.loss}, 1 full-batch step, {len(body) / 1024:.0f} kB request, "
          f"{args.requests} requests to {url}")
    print(f"round trip: median {median:.2f} ms, 90th percentile {p90:.2f} ms, min {min(times_ms):.2f} ms "
          f"(target < {TARGET_MS:g} ms: {'met' if median < TARGET_MS else 'NOT met'})")


if __name__ == "__main__":
    main()
