"""The playground answers its own page only, stays responsive under heavy requests, and keeps quiet
about clients that hang up: Host names, JSON from its own origin, numbers past float64, time budgets."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import time
import warnings

import numpy as np
import pytest

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from linclass.playground import app as playground_app
from linclass.playground import create_app, requests
from linclass.playground.server import background_server

JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(), base_url="http://127.0.0.1:8231") as test_client:
        yield test_client


def heaviest_request(seed: int = 0) -> dict:
    """The largest request the limits allow: every point, every class, every step, the full batch."""
    rng = np.random.default_rng(seed)
    classes = requests.MAX_CLASSES
    return {"points": rng.normal(size=(requests.MAX_POINTS, 2)).round(3).tolist(),
            "labels": rng.integers(0, classes, requests.MAX_POINTS).tolist(),
            "W": rng.normal(size=(classes, 2)).tolist(), "b": [0.0] * classes, "loss": "softmax",
            "lr": 0.01, "steps": requests.MAX_STEPS}


def small_request() -> dict:
    return {"points": [[1.0, 0.0], [0.0, 1.0]], "labels": [0, 1], "W": [[1.0, 0.0], [0.0, 1.0]], "b": [0.0, 0.0],
            "lr": 0.1, "steps": 1}


@pytest.mark.parametrize("host, status", [("127.0.0.1:8231", 200), ("localhost:8231", 200), ("localhost", 200),
                                          ("attacker.example", 400), ("attacker.example:8231", 400),
                                          ("127.0.0.1.attacker.example", 400)])
def test_only_the_names_it_serves_are_answered(client, host, status):
    """DNS rebinding sends the attacker's own name as Host: it is refused, the page and the API alike."""
    for path in ("/", "/api/options"):
        assert client.get(path, headers={"Host": host}).status_code == status


def test_a_name_given_to_the_app_is_served_too():
    with TestClient(create_app(hosts=("127.0.0.1", "localhost", "lab.internal")),
                    base_url="http://lab.internal:8231") as named:
        assert named.get("/api/options").status_code == 200


@pytest.mark.parametrize("headers, status, phrase", [
    ({"Content-Type": "text/plain"}, 415, "application/json, not text/plain"),
    ({}, 415, "not nothing"),
    ({"Content-Type": "application/x-www-form-urlencoded"}, 415, "application/json"),
    ({**JSON, "Origin": "http://attacker.example"}, 403, "http://attacker.example are not answered"),
    ({**JSON, "Origin": "http://127.0.0.1:9999"}, 403, "are not answered"),
    ({**JSON, "Sec-Fetch-Site": "cross-site"}, 403, "cross-site requests are not answered"),
])
def test_a_post_must_be_json_from_its_own_page(client, headers, status, phrase):
    """A cross-site page can send text/plain or a form without asking first: that is what is refused."""
    answer = client.post("/api/step", content=json.dumps(small_request()), headers=headers)
    assert answer.status_code == status and phrase in answer.json()["error"]


def test_the_pages_own_post_is_answered(client):
    headers = {**JSON, "Origin": "http://127.0.0.1:8231", "Sec-Fetch-Site": "same-origin"}
    assert client.post("/api/step", content=json.dumps(small_request()), headers=headers).status_code == 200
    with_charset = {"Content-Type": "application/json; charset=utf-8"}
    assert client.post("/api/step", content=json.dumps(small_request()), headers=with_charset).status_code == 200


@pytest.mark.parametrize("field, value, phrase", [("W", [["1" + "0" * 400, 0], [0, 1]], "W holds a number too large"),
                                                  ("b", ["-" + "9" * 309, 0], "b holds a number too large"),
                                                  ("steps", "1" + "0" * 400, "steps must be an integer"),
                                                  ("labels", ["1" + "0" * 5000, 0], "labels must be integers")])
def test_an_integer_beyond_float64_is_a_422_naming_the_field(client, field, value, phrase):
    digits_as_numbers = json.dumps(value).replace('"', "")
    text = json.dumps({**small_request(), field: "HUGE"}).replace('"HUGE"', digits_as_numbers)
    answer = client.post("/api/step", content=text, headers=JSON)
    assert answer.status_code == 422 and phrase in answer.json()["error"], answer.text


def test_a_request_past_its_time_budget_is_a_503(client, monkeypatch):
    monkeypatch.setattr(playground_app, "REQUEST_SECONDS", 0.0)
    answer = client.post("/api/step", content=json.dumps(small_request()), headers=JSON)
    assert answer.status_code == 503 and "took too long for one request" in answer.json()["error"]


def test_a_client_that_hangs_up_mid_body_is_a_quiet_log_line(caplog):
    with caplog.at_level(logging.INFO), background_server() as url:
        host, port = url.removeprefix("http://").rstrip("/").split(":")
        for _ in range(5):
            with socket.create_connection((host, int(port))) as sock:
                sock.sendall(f"POST /api/step HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                             "Content-Length: 100000\r\n\r\n{\"points\": [".encode())
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        connection.request("GET", "/api/options")  # the server is still answering
        assert connection.getresponse().status == 200
    assert not [record for record in caplog.records if record.exc_info], [r.getMessage() for r in caplog.records]
    hung_up = [record for record in caplog.records if "hung up" in record.getMessage()]
    assert 1 <= len(hung_up) <= 5 and all(record.levelno == logging.INFO for record in hung_up)


def test_four_heavy_clients_leave_a_get_answered_at_once():
    """Each heavy request takes about a second of arithmetic; the event loop must not be the one doing it.

    Were it, a GET would wait for a whole heavy request (about a second). Off the loop, a GET waits only for
    the loop's turn on a shared machine: milliseconds as a rule, never a large part of a heavy request."""
    with background_server() as url:
        host, port = url.removeprefix("http://").rstrip("/").split(":")
        statuses: list[int] = []
        heavy_seconds: list[float] = []

        def heavy(seed: int) -> None:
            start = time.perf_counter()
            connection = http.client.HTTPConnection(host, int(port), timeout=60)
            connection.request("POST", "/api/step", body=json.dumps(heaviest_request(seed)), headers=JSON)
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)
            heavy_seconds.append(time.perf_counter() - start)

        clients = [threading.Thread(target=heavy, args=(seed,)) for seed in range(4)]
        for thread in clients:
            thread.start()
        time.sleep(0.3)  # the first heavy request is being computed, the others wait for it
        latencies = []
        getter = http.client.HTTPConnection(host, int(port), timeout=10)
        while any(thread.is_alive() for thread in clients) and len(latencies) < 40:
            start = time.perf_counter()
            getter.request("GET", "/api/options")
            response = getter.getresponse()
            response.read()
            latencies.append(time.perf_counter() - start)
            assert response.status == 200
            time.sleep(0.05)
        for thread in clients:
            thread.join(timeout=120)
    assert statuses == [200] * 4
    print(f"GET latencies during 4 heavy requests: max {max(latencies) * 1000:.1f} ms, median "
          f"{sorted(latencies)[len(latencies) // 2] * 1000:.1f} ms over {len(latencies)} requests; heavy "
          f"requests done after {sorted(round(s, 2) for s in heavy_seconds)} s")
    median = sorted(latencies)[len(latencies) // 2]
    one_heavy_request = min(heavy_seconds)  # they run one after another: the first waits for none
    assert len(latencies) >= 5 and median < 0.05, latencies
    assert max(latencies) < one_heavy_request / 2, (latencies, heavy_seconds)
