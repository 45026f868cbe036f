"""The admin HTTP port (issue 8, docs/operations.md): /health, /ready and
/metrics, scraped while a real primary is SIGKILLed and restarted.

Every scrape goes through `parse_exposition`, a strict parser of the
Prometheus text format 0.0.4 written here: metric and label name syntax,
label value escapes, HELP/TYPE at most once per family and before its
samples, a family's samples together, no duplicate series, histogram
buckets cumulative and ascending with +Inf equal to _count.
"""

from __future__ import annotations

import http.client
import json
import math
import re
import socket
import time

import pytest
import redis

from support.primary import Primary, wait_until
from support.proxied import ProxiedUnderstudy, info_understudy, wait_state
from support.servers import HOST, Understudy, free_port

# --- A strict text-format parser ----------------------------------------------

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


class ExpositionError(AssertionError):
    pass


def parse_value(text: str, line: str) -> float:
    if text in ("+Inf", "Inf"):
        return math.inf
    if text == "-Inf":
        return -math.inf
    if text == "NaN":
        return math.nan
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text):
        raise ExpositionError(f"bad value {text!r} in {line!r}")
    return float(text)


def parse_labels(text: str, line: str) -> tuple[dict[str, str], str]:
    """Parses '{a="x",b="y"}' at the start of `text`; returns the labels and the rest."""
    labels: dict[str, str] = {}
    assert text[0] == "{"
    i = 1
    while True:
        if text[i] == "}":
            return labels, text[i + 1:]
        match = LABEL_NAME.match(text, i)
        if not match:
            raise ExpositionError(f"bad label name in {line!r}")
        name = match.group(0)
        if name.startswith("__"):
            raise ExpositionError(f"reserved label name {name!r} in {line!r}")
        i = match.end()
        if text[i:i + 2] != '="':
            raise ExpositionError(f"expected =\" after label {name!r} in {line!r}")
        i += 2
        value = []
        while True:
            if i >= len(text):
                raise ExpositionError(f"unterminated label value in {line!r}")
            c = text[i]
            if c == "\\":
                escaped = text[i + 1:i + 2]
                if escaped not in ("\\", '"', "n"):
                    raise ExpositionError(f"bad escape \\{escaped} in {line!r}")
                value.append("\n" if escaped == "n" else escaped)
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                raise ExpositionError(f"raw newline in a label value: {line!r}")
            else:
                value.append(c)
                i += 1
        if name in labels:
            raise ExpositionError(f"label {name!r} twice in {line!r}")
        labels[name] = "".join(value)
        if text[i] == ",":
            i += 1
            if text[i] == "}":  # a trailing comma is allowed
                return labels, text[i + 1:]
        elif text[i] != "}":
            raise ExpositionError(f"expected , or }} in {line!r}")


def family_of(sample_name: str, types: dict[str, str]) -> str:
    for suffix in ("_bucket", "_sum", "_count"):
        base = sample_name[: -len(suffix)] if sample_name.endswith(suffix) else None
        if base and types.get(base) == "histogram":
            return base
    return sample_name


def parse_exposition(text: str) -> dict[str, dict]:
    """{family: {"type", "help", "samples": [(name, labels, value)]}}; raises on any fault."""
    if text and not text.endswith("\n"):
        raise ExpositionError("the exposition does not end with a newline")
    families: dict[str, dict] = {}
    types: dict[str, str] = {}
    finished: set[str] = set()
    current: str | None = None
    series: set[tuple] = set()
    for line in text.split("\n")[:-1]:
        if line == "":
            raise ExpositionError("empty line")
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not METRIC_NAME.fullmatch(name):
                    raise ExpositionError(f"bad metric name in {line!r}")
                family = families.setdefault(name, {"type": None, "help": None, "samples": []})
                if family["samples"] or name in finished:
                    raise ExpositionError(f"{parts[1]} after samples of {name}: {line!r}")
                key = parts[1].lower()
                if family[key] is not None:
                    raise ExpositionError(f"second {parts[1]} for {name}")
                value = parts[3] if len(parts) == 4 else ""
                if key == "type":
                    if value not in TYPES:
                        raise ExpositionError(f"unknown type in {line!r}")
                    types[name] = value
                else:
                    if re.search(r"\\[^\\n]", value.replace("\\\\", "")):
                        raise ExpositionError(f"bad escape in HELP {line!r}")
                family[key] = value
            continue
        match = METRIC_NAME.match(line)
        if not match:
            raise ExpositionError(f"bad metric name in {line!r}")
        name = match.group(0)
        rest = line[match.end():]
        labels: dict[str, str] = {}
        if rest.startswith("{"):
            labels, rest = parse_labels(rest, line)
        if not rest.startswith(" "):
            raise ExpositionError(f"expected a space before the value in {line!r}")
        fields = rest[1:].split(" ")
        if len(fields) not in (1, 2):
            raise ExpositionError(f"bad sample line {line!r}")
        value = parse_value(fields[0], line)
        family_name = family_of(name, types)
        if family_name not in types:
            raise ExpositionError(f"sample before (or without) TYPE: {line!r}")
        if current != family_name:
            if family_name in finished:
                raise ExpositionError(f"samples of {family_name} are not together: {line!r}")
            if current is not None:
                finished.add(current)
            current = family_name
        key = (name, tuple(sorted(labels.items())))
        if key in series:
            raise ExpositionError(f"duplicate series {line!r}")
        series.add(key)
        if types[family_name] == "counter" and not value >= 0:
            raise ExpositionError(f"negative counter {line!r}")
        families[family_name]["samples"].append((name, labels, value))
    for name, family in families.items():
        if family["type"] == "histogram":
            check_histogram(name, family["samples"])
    return families


def check_histogram(name: str, samples: list) -> None:
    groups: dict[tuple, dict] = {}
    for sample_name, labels, value in samples:
        rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        group = groups.setdefault(rest, {"buckets": [], "sum": None, "count": None})
        if sample_name == name + "_bucket":
            if "le" not in labels:
                raise ExpositionError(f"{name}_bucket without le")
            group["buckets"].append((parse_value(labels["le"], name), value))
        elif sample_name == name + "_sum":
            group["sum"] = value
        elif sample_name == name + "_count":
            group["count"] = value
        else:
            raise ExpositionError(f"{sample_name} in histogram {name}")
    for rest, group in groups.items():
        buckets = group["buckets"]
        if not buckets or buckets[-1][0] != math.inf:
            raise ExpositionError(f"{name}{rest}: no +Inf bucket last")
        for (le_a, count_a), (le_b, count_b) in zip(buckets, buckets[1:]):
            if not le_a < le_b:
                raise ExpositionError(f"{name}{rest}: le not ascending")
            if count_b < count_a:
                raise ExpositionError(f"{name}{rest}: buckets not cumulative")
        if group["count"] is None or group["sum"] is None:
            raise ExpositionError(f"{name}{rest}: _sum or _count missing")
        if group["count"] != buckets[-1][1]:
            raise ExpositionError(f"{name}{rest}: +Inf {buckets[-1][1]} != _count {group['count']}")


def test_the_parser_refuses_what_it_should():
    good = ("# HELP h_seconds x\n# TYPE h_seconds histogram\n"
            'h_seconds_bucket{le="1"} 1\nh_seconds_bucket{le="+Inf"} 2\n'
            "h_seconds_sum 3\nh_seconds_count 2\n")
    assert parse_exposition(good)["h_seconds"]["type"] == "histogram"
    bad = [
        "x 1\n",  # no TYPE
        "# TYPE x gauge\nx 1",  # no final newline
        "# TYPE x gauge\nx{a=\"1\" 1\n",  # unterminated labels
        "# TYPE x gauge\nx{a=\"\\t\"} 1\n",  # bad escape
        "# TYPE x gauge\nx{__a=\"1\"} 1\n",  # reserved label
        "# TYPE x gauge\nx one\n",  # bad value
        "# TYPE x gauge\nx 1\n# TYPE x gauge\n",  # second TYPE
        "# TYPE x gauge\n# TYPE y gauge\nx 1\ny 1\nx{a=\"b\"} 2\n",  # not together
        "# TYPE x gauge\nx 1\nx 2\n",  # duplicate series
        "# TYPE 9x gauge\n",  # bad name
        "# TYPE c counter\nc -1\n",  # negative counter
        good.replace("h_seconds_count 2", "h_seconds_count 3"),  # +Inf != count
        good.replace('le="1"} 1', 'le="1"} 5'),  # not cumulative
        good.replace('h_seconds_bucket{le="+Inf"} 2\n', ""),  # no +Inf
    ]
    for text in bad:
        with pytest.raises(ExpositionError):
            parse_exposition(text)


# --- Helpers -------------------------------------------------------------------


def http_get(port: int, path: str, method: str = "GET", timeout: float = 5.0):
    """(status, headers, body text) of one request on a new connection."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        conn.close()


def scrape(port: int) -> dict[str, dict]:
    status, headers, body = http_get(port, "/metrics")
    assert status == 200, body
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    return parse_exposition(body)


def value(families: dict, name: str, **labels: str) -> float:
    """The value of one series; `name` may be a histogram's _bucket/_sum/_count."""
    family = families[family_of(name, {k: f["type"] for k, f in families.items()})]
    for sample_name, sample_labels, sample_value in family["samples"]:
        if sample_name == name and sample_labels == labels:
            return sample_value
    raise KeyError(f"{name}{labels} not in the scrape: {family['samples']}")


def ready(port: int) -> tuple[int, dict]:
    status, headers, body = http_get(port, "/ready")
    assert headers["Content-Type"] == "application/json"
    return status, json.loads(body)


# --- Standalone ------------------------------------------------------------------


def test_standalone_endpoints_and_figures_agree_with_info():
    admin_port = free_port()
    daemon = Understudy(["--admin-port", str(admin_port),
                         "--class", "sessions", "sess:*"]).start()
    try:
        status, _, body = http_get(admin_port, "/health")
        assert (status, body) == (200, "OK\n")
        status, body = ready(admin_port)
        assert status == 200
        assert body["ready"] is True and body["mode"] == "standalone"
        assert body["primary_state"] == "none" and body["degraded"] is False
        assert [c["name"] for c in body["classes"]] == ["sessions", "default"]
        assert http_get(admin_port, "/nope")[0] == 404
        status, headers, _ = http_get(admin_port, "/metrics", method="POST")
        assert status == 405 and headers["Allow"] == "GET, HEAD"
        status, headers, body = http_get(admin_port, "/metrics", method="HEAD")
        assert status == 200 and body == "" and int(headers["Content-Length"]) > 0

        r = redis.Redis(host=HOST, port=daemon.port, socket_timeout=5)
        for i in range(10):
            r.set(f"sess:{i}", "v")
        r.hset("h", "f", "v")
        families = scrape(admin_port)
        assert value(families, "understudy_degraded") == 0
        assert value(families, "understudy_ready") == 1
        assert value(families, "understudy_class_keys", **{"class": "sessions"}) == 10
        assert value(families, "understudy_class_keys", **{"class": "default"}) == 1
        assert value(families, "understudy_commands_total", family="string", route="local") >= 10
        assert value(families, "understudy_commands_total", family="hash", route="local") == 1
        assert value(families, "understudy_connected_clients") >= 1
        assert value(families, "understudy_memory_used_bytes") > 0
        # About one command in eight is timed; the first always is.
        assert 1 <= value(families, "understudy_command_duration_seconds_count") <= 12
        assert "understudy_primary_state" not in families
        info = info_understudy(daemon)
        assert info["degraded"] == "0"
        # INFO ran after the scrape and is not a string command: the same count.
        string_local = value(families, "understudy_commands_total", family="string",
                             route="local")
        assert info["commands_family_string"] == f"local={int(string_local)},proxied=0,rejected=0"
        # Keep-alive: several requests on one connection.
        conn = http.client.HTTPConnection(HOST, admin_port, timeout=5)
        try:
            for path in ("/health", "/ready", "/metrics", "/health"):
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                assert response.status == 200
        finally:
            conn.close()
    finally:
        daemon.cleanup()


def test_admin_port_off_by_default():
    daemon = Understudy([]).start()
    try:
        with daemon.client() as conn:
            reply = conn.command("CONFIG", "GET", "admin-*")
        assert b"admin-port\r\n$1\r\n0" in reply
        assert b"admin-bind\r\n$9\r\n127.0.0.1" in reply
        assert "commands_family_string" not in info_understudy(daemon)
    finally:
        daemon.cleanup()


# --- With a primary: outage and recovery ------------------------------------------

CLASSES = [
    "--class", "sessions", "sess:*", "mirror", "yes", "merge", "lww", "max-staleness", "600000",
    "--class", "limits", "rl:*", "merge", "counter",
    "--primary-probe-interval", "50", "--primary-probe-max-interval", "200",
]


def test_metrics_follow_an_outage_and_the_recovery(durable_primary):
    primary = durable_primary
    admin_port = free_port()
    daemon = ProxiedUnderstudy(primary.port, [*CLASSES, "--admin-port", str(admin_port)])
    daemon.start_healthy()
    try:
        wait_until(lambda: info_understudy(daemon)["mirror_state"] == "live", 10.0,
                   what="mirror live")
        r = redis.Redis(host=HOST, port=daemon.port, socket_timeout=5)
        r.set("sess:a", "v0")
        r.get("sess:a")

        before = scrape(admin_port)
        assert value(before, "understudy_degraded") == 0
        assert value(before, "understudy_primary_state", state="healthy") == 1
        assert value(before, "understudy_primary_state", state="down") == 0
        assert value(before, "understudy_mirror_live") == 1
        assert value(before, "understudy_journal_records_pending") == 0
        assert value(before, "understudy_journal_outage") == 0
        assert value(before, "understudy_class_staleness_seconds", **{"class": "sessions"}) == 0
        assert value(before, "understudy_upstream_latency_seconds_count") > 0
        assert value(before, "understudy_requests_total", route="proxied") >= 2
        assert value(before, "understudy_commands_total", family="string", route="proxied") >= 2
        downs_before = value(before, "understudy_primary_transitions_total", to="down")
        healthy_before = value(before, "understudy_primary_transitions_total", to="healthy")
        status, body = ready(admin_port)
        assert status == 200 and body["primary_state"] == "healthy" and not body["degraded"]

        primary.kill()
        # Writes during the outage are answered locally and journaled.
        wait_until(lambda: value(scrape(admin_port), "understudy_degraded") == 1, 10.0,
                   what="degraded")
        for i in range(5):
            assert r.set(f"sess:o{i}", "x")
            assert r.incr("rl:n") == i + 1
        during = scrape(admin_port)
        assert value(during, "understudy_degraded") == 1
        assert value(during, "understudy_primary_state", state="healthy") == 0
        assert sum(value(during, "understudy_primary_state", state=s)
                   for s in ("healthy", "suspect", "down", "recovering")) == 1
        assert value(during, "understudy_primary_transitions_total", to="down") > downs_before
        assert value(during, "understudy_journal_outage") == 1
        assert value(during, "understudy_journal_records_pending") >= 10
        assert value(during, "understudy_journal_bytes") > 0
        assert value(during, "understudy_journal_records_written_total") >= 10
        assert value(during, "understudy_mirror_live") == 0
        assert value(during, "understudy_class_over_max_staleness", **{"class": "sessions"}) == 0
        assert value(during, "understudy_requests_total", route="local") >= 10
        assert value(during, "understudy_commands_total", family="string", route="local") >= 10
        # INFO shows the same figures (nothing changes them between the two reads).
        info = info_understudy(daemon)
        assert info["degraded"] == "1"
        assert int(info["journal_records_pending"]) == value(
            during, "understudy_journal_records_pending")
        assert f"down={int(value(during, 'understudy_primary_transitions_total', to='down'))}" \
            in info["primary_transitions_to"]
        # Still ready: an outage is what the daemon is for.
        status, body = ready(admin_port)
        assert status == 200 and body["degraded"] is True
        assert body["primary_state"] in ("suspect", "down", "recovering")
        sessions = next(c for c in body["classes"] if c["name"] == "sessions")
        assert sessions["mirror"] is True and sessions["staleness_ms"] >= 0
        assert sessions["max_staleness_ms"] == 600000 and sessions["over_max_staleness"] is False
        limits = next(c for c in body["classes"] if c["name"] == "limits")
        assert limits["staleness_ms"] is None

        primary.restart()
        wait_state(daemon, "healthy", 20.0)
        after = scrape(admin_port)
        assert value(after, "understudy_degraded") == 0
        assert value(after, "understudy_primary_state", state="healthy") == 1
        assert value(after, "understudy_primary_transitions_total", to="healthy") > healthy_before
        assert value(after, "understudy_primary_transitions_total", to="recovering") >= 1
        assert value(after, "understudy_journal_outage") == 0
        assert value(after, "understudy_journal_records_pending") == 0
        assert value(after, "understudy_reconcile_replayed_total") >= 10
        assert value(after, "understudy_reconcile_running") == 0
        # Counters never go back.
        for name, labels in (("understudy_primary_transitions_total", {"to": "down"}),
                             ("understudy_requests_total", {"route": "local"}),
                             ("understudy_journal_records_written_total", {})):
            assert value(after, name, **labels) >= value(during, name, **labels)
        with primary.admin() as direct:
            assert direct.get("rl:n") == b"5"
    finally:
        daemon.cleanup()


def test_ready_is_503_until_clients_are_admitted():
    """A primary that accepts connections and never answers: the first probe
    does not come back, so clients are admitted only at the 2 s fallback;
    until then /ready says 503 while /health says 200."""
    blackhole = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    blackhole.bind((HOST, 0))
    blackhole.listen(16)  # the kernel completes handshakes; nobody reads
    admin_port = free_port()
    daemon = ProxiedUnderstudy(blackhole.getsockname()[1],
                               ["--admin-port", str(admin_port), "--primary-timeout", "60000"])
    try:
        daemon._spawn(free_port())  # not start(): that waits for clients to be admitted
        seen: list[int] = []
        bodies: list[dict] = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (not seen or seen[-1] != 200):
            assert daemon.process.poll() is None, daemon.log_tail()
            try:
                status, body = ready(admin_port)
            except OSError:
                time.sleep(0.01)
                continue
            seen.append(status)
            bodies.append(body)
            if status == 503:
                assert http_get(admin_port, "/health")[0] == 200
                assert value(scrape(admin_port), "understudy_ready") == 0
            time.sleep(0.02)
        assert seen and seen[0] == 503, f"/ready answered {seen[:3]} first"
        assert seen[-1] == 200, seen
        assert set(seen) == {503, 200}
        assert bodies[0]["ready"] is False and bodies[-1]["ready"] is True
        # The primary never answered: admitted, but degraded.
        assert bodies[-1]["degraded"] is True and bodies[-1]["primary_state"] != "healthy"
        assert value(scrape(admin_port), "understudy_ready") == 1
    finally:
        daemon.cleanup()
        blackhole.close()
