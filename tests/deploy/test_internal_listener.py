"""The combined server keeps internal routes (the all-tenant renewal trigger, /metrics) off the
public listener; a single function keeps the Knative one-port contract."""

import json
import os
import subprocess
import urllib.error
import urllib.request

import psutil

from bench.processes import free_port, serve, stop, wait_ready
from shared.settings import Settings

PING = {
    "ce-specversion": "1.0",
    "ce-type": "dev.knative.sources.ping",
    "ce-source": "/ping",
    "ce-id": "p-1",
    "Content-Type": "application/json",
}


def call(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=b"{}" if method == "POST" else None, method=method, headers=headers or {}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert (settings.internal_host, settings.internal_port) == ("127.0.0.1", None)  # None: PORT + 1
    assert Settings.from_env({"BILLING_INTERNAL_PORT": "9191"}).internal_port == 9191


def test_the_combined_server_serves_internal_routes_only_on_the_internal_listener(database_url: str) -> None:
    internal_port = free_port()
    process, public = serve(
        {"DATABASE_URL": database_url, "BILLING_INTERNAL_PORT": str(internal_port)}, stderr=subprocess.PIPE
    )
    internal = f"http://127.0.0.1:{internal_port}"
    try:
        wait_ready(public, process)
        wait_ready(internal, process)
        # Public listener: the API, not the trigger nor the metrics.
        assert call(public + "/v1/customers")[0] == 401
        status, body = call(public + "/cloudevents/renew", "POST", PING)
        assert status == 404 and json.loads(body)["title"] == "Not found"
        assert call(public + "/metrics")[0] == 404
        paths = json.loads(call(public + "/openapi.json")[1])["paths"]
        assert "/v1/customers" in paths and "/cloudevents/renew" not in paths
        # Internal listener: the trigger and the metrics, not the API.
        status, body = call(internal + "/cloudevents/renew", "POST", PING)
        assert status == 200 and json.loads(body)["object"] == "renewal_run"
        status, body = call(internal + "/metrics")
        assert status == 200 and b"target_info" in body
        assert call(internal + "/v1/customers")[0] == 404
        assert sorted(json.loads(call(internal + "/openapi.json")[1])["paths"]) == [
            "/cloudevents/dispatch",
            "/cloudevents/renew",
            "/cloudevents/usage",
        ]
        listening = {
            (c.laddr.ip, c.laddr.port)
            for c in psutil.Process(process.pid).net_connections("tcp")
            if c.status == psutil.CONN_LISTEN
        }
        assert ("127.0.0.1", internal_port) in listening
    finally:
        stop(process)


def test_a_taken_internal_port_fails_start_up_with_one_line_naming_its_holder(database_url: str) -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        process, _ = serve({"DATABASE_URL": database_url, "BILLING_INTERNAL_PORT": str(port)}, stderr=subprocess.PIPE)
        try:
            assert process.wait(timeout=120) != 0
            error = process.stderr.read().decode() if process.stderr else ""
        finally:
            stop(process)
    [line] = error.strip().splitlines()
    assert f"port {port} is in use by pid {os.getpid()}" in line and "BILLING_INTERNAL_PORT" in line, line


def test_a_single_function_serves_everything_on_its_one_port(database_url: str) -> None:
    process, base = serve({"DATABASE_URL": database_url, "FUNCTION_TARGET": "renew"}, stderr=subprocess.PIPE)
    try:
        wait_ready(base, process)
        assert call(base + "/cloudevents/renew", "POST", PING)[0] == 200
        assert call(base + "/metrics")[0] == 200
        listening = [c for c in psutil.Process(process.pid).net_connections("tcp") if c.status == psutil.CONN_LISTEN]
        assert len(listening) == 1
    finally:
        stop(process)
