"""Self-tests of the differential harness (no servers needed)."""

from __future__ import annotations

import pytest

from support.cases import CaseSyntaxError, Step, parse_file, split_args
from support.resp import RespProtocolError, parse_reply, scan_reply
from support.runner import Outcome, compare

COMPLETE_REPLIES = [
    b"+OK\r\n",
    b"-ERR x\r\n",
    b":-12\r\n",
    b"$3\r\nfoo\r\n",
    b"$0\r\n\r\n",
    b"$-1\r\n",
    b"$4\r\na\r\nb\r\n",            # CRLF inside a bulk string
    b"*-1\r\n",
    b"*0\r\n",
    b"*2\r\n$1\r\na\r\n*1\r\n:1\r\n",
    b"_\r\n",
    b",3.14\r\n",
    b"#t\r\n",
    b"!5\r\nERR x\r\n",
    b"=8\r\ntxt:abcd\r\n",
    b"(12345678901234567890\r\n",
    b"%1\r\n+k\r\n:1\r\n",
    b"~2\r\n+a\r\n+b\r\n",
    b">2\r\n+message\r\n+x\r\n",
    b"|1\r\n+ttl\r\n:3\r\n$1\r\nv\r\n",  # attribute, then the value it decorates
    b"$?\r\n;2\r\nab\r\n;1\r\nc\r\n;0\r\n",
    b"*?\r\n:1\r\n:2\r\n.\r\n",
]


@pytest.mark.parametrize("reply", COMPLETE_REPLIES)
def test_scan_finds_the_end_of_every_reply_type(reply):
    assert scan_reply(reply + b"+NEXT\r\n") == len(reply)
    for cut in range(len(reply)):
        assert scan_reply(reply[:cut]) is None, reply[:cut]


@pytest.mark.parametrize("garbage", [b"x\r\n", b"$abc\r\n", b"~-1\r\n", b"$1\r\nab\r\n"])
def test_scan_rejects_garbage(garbage):
    with pytest.raises(RespProtocolError):
        scan_reply(garbage)


def test_parse_keeps_structure():
    node = parse_reply(b"%2\r\n+a\r\n*1\r\n:1\r\n+b\r\n_\r\n")
    assert node.kind == "%"
    assert [child.kind for child in node.children] == ["+", "*", "+", "_"]
    decorated = parse_reply(b"|1\r\n+k\r\n+v\r\n:7\r\n")
    assert (decorated.kind, decorated.value) == (":", b"7")
    assert decorated.attribute is not None


@pytest.mark.parametrize("line,expected", [
    ("SET k v", [b"SET", b"k", b"v"]),
    ('SET "a b" "\\x00\\r\\n\\"x"', [b"SET", b"a b", b"\x00\r\n\"x"]),
    ("ECHO 'it\\'s' \"\"", [b"ECHO", b"it's", b""]),
    ("  PING   ", [b"PING"]),
    ('a"b c"', [b"ab c"]),
    ("'\\n'", [b"\\n"]),
])
def test_split_args_like_redis_cli(line, expected):
    assert split_args(line) == expected


@pytest.mark.parametrize("line", ['"abc', "'abc", '"a"b'])
def test_split_args_rejects_bad_quotes(line):
    with pytest.raises(ValueError):
        split_args(line)


def test_parse_file(tmp_path):
    path = tmp_path / "sample.txt"
    path.write_text(
        "# comment\n"
        "%server --requirepass pw\n"
        "SET k v\n"
        "~int 1 5 TTL k\n"
        "~match '\\d+' ECHO 1\n"
        "\n"
        "!resp3\n"
        '!raw "PING\\r\\n"\n'
        "!sleep 5\n"
        "~sorted KEYS *\n")
    parsed = parse_file(path)
    assert parsed.password == "pw"
    first, second = parsed.cases
    assert first.line == 3 and first.variants == ("resp2", "resp3")
    assert first.steps[1].mode == "int" and first.steps[1].mode_args == (1, 5)
    assert first.steps[1].args == [b"TTL", b"k"]
    assert first.steps[2].mode_args[0].fullmatch(b"123")
    assert second.variants == ("resp3",)
    assert [s.action for s in second.steps] == ["resp3", "raw", "sleep", "command"]
    assert second.steps[1].args == [b"PING\r\n"]


@pytest.mark.parametrize("bad", ["~nosuch GET k", "!nosuch", "!sleep x", "~int 1 GET",
                                 "%nosuch", '!raw "a" "b"', "~scanall KEYS *"])
def test_parse_file_rejects_bad_lines(tmp_path, bad):
    path = tmp_path / "bad.txt"
    path.write_text(bad + "\n")
    with pytest.raises(CaseSyntaxError):
        parse_file(path)


def _step(mode="exact", mode_args=()):
    return Step(1, "X", "command", [b"X"], mode, mode_args)


def _reply(data):
    return Outcome("reply", data)


def test_compare_modes():
    assert compare(_step(), _reply(b":1\r\n"), _reply(b":1\r\n")) is None
    assert compare(_step(), _reply(b":1\r\n"), _reply(b":2\r\n"))
    assert compare(_step(), _reply(b"+OK\r\n"), Outcome("closed"))
    assert compare(_step("type"), _reply(b":1\r\n"), _reply(b":2\r\n")) is None
    assert compare(_step("type"), _reply(b":1\r\n"), _reply(b"$1\r\n1\r\n"))
    int_step = _step("int", (0, 10))
    assert compare(int_step, _reply(b":3\r\n"), _reply(b":10\r\n")) is None
    assert compare(int_step, _reply(b":3\r\n"), _reply(b":11\r\n"))
    ab, ba = b"*2\r\n+a\r\n+b\r\n", b"*2\r\n+b\r\n+a\r\n"
    assert compare(_step("sorted"), _reply(ab), _reply(ba)) is None
    assert compare(_step(), _reply(ab), _reply(ba))
    map_ab = b"%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n"
    map_ba = b"%2\r\n+b\r\n:2\r\n+a\r\n:1\r\n"
    map_bad = b"%2\r\n+b\r\n:1\r\n+a\r\n:2\r\n"
    assert compare(_step("sorted"), _reply(map_ab), _reply(map_ba)) is None
    assert compare(_step("sorted"), _reply(map_ab), _reply(map_bad))
    hello_a = b"%2\r\n$2\r\nid\r\n:5\r\n$6\r\nserver\r\n$5\r\nredis\r\n"
    hello_b = b"%2\r\n$2\r\nid\r\n:9\r\n$6\r\nserver\r\n$10\r\nunderstudy\r\n"
    hello_c = b"%2\r\n$2\r\nID\r\n:9\r\n$6\r\nserver\r\n$10\r\nunderstudy\r\n"
    assert compare(_step("shape"), _reply(hello_a), _reply(hello_b)) is None
    assert compare(_step("shape"), _reply(hello_a), _reply(hello_c))
