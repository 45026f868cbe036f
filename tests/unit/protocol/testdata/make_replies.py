#!/usr/bin/python3
"""Captures real redis-server replies for reply_parser_test.cc.

Run once (the outputs are committed next to this script):

    /usr/bin/python3 tests/unit/protocol/testdata/make_replies.py

It starts a private redis-server on a free loopback port, sends a fixed list
of varied commands over a raw socket, first in RESP2 and then after HELLO 3,
and writes for each protocol:

  redis_replies_resp<N>.bin  the reply bytes exactly as received
  redis_replies_resp<N>.txt  "replies <count>", then one line per reply:
                             "<byte length> <top-level type byte> <command>"

Replies are framed here by a small Python RESP reader written independently
of protocol/reply_parser.cc, so the unit test compares two implementations.
Pushes (pub/sub messages, tracking invalidations) arrive as replies of their
own, as they would on a proxied connection.
"""

import os
import select
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
IDLE_SECONDS = 0.03  # a command's replies are all in once the socket is idle this long
DEADLINE_SECONDS = 5.0

# ("cmd", args...) is sent on the capture connection; ("OTHER", args...) on a
# second connection whose replies are not recorded (to cause pushes, WATCH aborts).
BIG = "x" * 70000
COMMANDS = [
    ("PING",),
    ("PING", "hello world"),
    ("SET", "k", "v"),
    ("GET", "k"),
    ("GET", "missing"),
    ("SET", "big", BIG),
    ("GET", "big"),
    ("SET", "empty", ""),
    ("GET", "empty"),
    ("SET", "crlf", "a\r\nb\r\n"),
    ("GET", "crlf"),
    ("INCR", "counter"),
    ("INCRBY", "counter", "-5"),
    ("SET", "n", "-9223372036854775807"),
    ("DECR", "n"),
    ("INCRBYFLOAT", "f", "1.5"),
    ("NOSUCHCOMMAND", "x"),
    ("LPUSH", "k", "x"),
    ("GET",),
    ("EXPIRE", "k", "100"),
    ("TTL", "k"),
    ("PTTL", "missing"),
    ("RPUSH", "list") + tuple("item%d" % i for i in range(300)),
    ("LRANGE", "list", "0", "-1"),
    ("LRANGE", "missing", "0", "-1"),
    ("HSET", "h", "f1", "v1", "f2", "v2", "f3", "3"),
    ("HGETALL", "h"),
    ("HGETALL", "missing"),
    ("HRANDFIELD", "h", "-4", "WITHVALUES"),
    ("SADD", "s", "a", "b", "c"),
    ("SMEMBERS", "s"),
    ("SISMEMBER", "s", "a"),
    ("SMISMEMBER", "s", "a", "zz"),
    ("ZADD", "z", "1", "a", "2.5", "b", "inf", "c", "-inf", "d"),
    ("ZRANGE", "z", "0", "-1", "WITHSCORES"),
    ("ZSCORE", "z", "b"),
    ("ZSCORE", "z", "c"),
    ("ZSCORE", "z", "missing"),
    ("ZMSCORE", "z", "a", "missing"),
    ("ZPOPMIN", "z"),
    ("ZINCRBY", "z", "0.1", "b"),
    ("XADD", "st", "1-1", "f", "v"),
    ("XADD", "st", "1-2", "f", "w", "g", "x"),
    ("XRANGE", "st", "-", "+"),
    ("XINFO", "STREAM", "st"),
    ("XREAD", "COUNT", "1", "STREAMS", "st", "0"),
    ("MULTI",),
    ("SET", "m", "1"),
    ("GET", "m"),
    ("LPUSH", "m", "bad"),
    ("EXEC",),
    ("WATCH", "w"),
    ("OTHER", "SET", "w", "changed"),
    ("MULTI",),
    ("GET", "w"),
    ("EXEC",),
    ("BLPOP", "nolist", "0.01"),
    ("CONFIG", "GET", "maxmemory*"),
    ("INFO", "server"),
    ("CLIENT", "INFO"),
    ("COMMAND", "INFO", "get", "set"),
    ("COMMAND", "DOCS", "get"),
    ("SCAN", "0", "COUNT", "100"),
    ("OBJECT", "ENCODING", "list"),
    ("MEMORY", "STATS"),
    ("EVAL", "return redis.error_reply('MYERR custom error')", "0"),
    ("EVAL", "return redis.status_reply('FINE')", "0"),
    ("EVAL", "return {1, 'two', {3, {'four'}}, {}}", "0"),
    ("EVAL", "redis.setresp(3); return {double=3.25}", "0"),
    ("EVAL", "redis.setresp(3); return true", "0"),
    ("EVAL", "redis.setresp(3); return false", "0"),
    ("EVAL", "redis.setresp(3); return {big_number='123456789012345678901234567890'}", "0"),
    ("EVAL", "redis.setresp(3); return redis.call('HGETALL', 'h')", "0"),
    ("EVAL", "redis.setresp(3); return {map={a=1}}", "0"),
    ("EVAL", "redis.setresp(3); return {set={x=true}}", "0"),
    ("DEBUG", "PROTOCOL", "string"),
    ("DEBUG", "PROTOCOL", "integer"),
    ("DEBUG", "PROTOCOL", "double"),
    ("DEBUG", "PROTOCOL", "bignum"),
    ("DEBUG", "PROTOCOL", "null"),
    ("DEBUG", "PROTOCOL", "array"),
    ("DEBUG", "PROTOCOL", "set"),
    ("DEBUG", "PROTOCOL", "map"),
    ("DEBUG", "PROTOCOL", "attrib"),
    ("DEBUG", "PROTOCOL", "push"),
    ("DEBUG", "PROTOCOL", "verbatim"),
    ("DEBUG", "PROTOCOL", "true"),
    ("DEBUG", "PROTOCOL", "false"),
    ("CLIENT", "TRACKING", "on"),
    ("GET", "tracked"),
    ("OTHER", "SET", "tracked", "1"),
    ("PING",),
    ("CLIENT", "TRACKING", "off"),
    ("SUBSCRIBE", "ch1", "ch2"),
    ("PSUBSCRIBE", "c*"),
    ("OTHER", "PUBLISH", "ch1", "payload"),
    ("PING",),
    ("UNSUBSCRIBE",),
    ("PUNSUBSCRIBE",),
    ("PING",),
]


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg.encode() if isinstance(arg, str) else arg
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def frame_end(buf, pos):
    """Returns the offset just past the value starting at buf[pos], or None
    when buf holds only part of it. Trusts its input (a real Redis)."""
    line_end = buf.find(b"\r\n", pos)
    if line_end < 0:
        return None
    kind = buf[pos:pos + 1]
    body = buf[pos + 1:line_end]
    after = line_end + 2
    if kind in (b"+", b"-", b":", b"_", b",", b"#", b"("):
        return after
    if kind in (b"$", b"!", b"="):
        size = int(body)
        if size < 0:
            return after
        return after + size + 2 if len(buf) >= after + size + 2 else None
    if kind in (b"*", b"~", b">", b"%", b"|"):
        count = int(body)
        if kind in (b"%", b"|"):
            count *= 2
        for _ in range(max(count, 0)):
            after = frame_end(buf, after)
            if after is None:
                return None
        if kind == b"|":  # an attribute precedes the value it annotates
            return frame_end(buf, after)
        return after
    raise ValueError("unexpected type byte %r at %d" % (kind, pos))


def top_type(buf, pos):
    """The type byte of the reply at pos, attributes skipped."""
    while buf[pos:pos + 1] == b"|":
        line_end = buf.find(b"\r\n", pos)
        after = line_end + 2
        for _ in range(2 * int(buf[pos + 1:line_end])):
            after = frame_end(buf, after)
        pos = after
    return chr(buf[pos])


class Capture:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.replies = []  # (bytes, command text)

    def read_replies(self, label, minimum):
        """Reads until `minimum` replies are in and the socket has then been
        idle for IDLE_SECONDS."""
        got = 0
        deadline = time.monotonic() + DEADLINE_SECONDS
        while time.monotonic() < deadline:
            end = frame_end(self.buf, 0) if self.buf else None
            if end is not None:
                self.replies.append((self.buf[:end], label))
                self.buf = self.buf[end:]
                got += 1
                continue
            wait = IDLE_SECONDS if got >= minimum and not self.buf else DEADLINE_SECONDS
            ready, _, _ = select.select([self.sock], [], [], wait)
            if not ready:
                if got >= minimum and not self.buf:
                    return
                continue
            data = self.sock.recv(1 << 20)
            if not data:
                raise RuntimeError("server closed the connection")
            self.buf += data
        raise RuntimeError("timed out waiting for replies to " + label)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def describe(args):
    words = [a if len(a) <= 40 else a[:20] + "...(%d bytes)" % len(a) for a in args]
    text = " ".join(w.replace("\r", "\\r").replace("\n", "\\n") for w in words)
    return text if len(text) <= 80 else text[:60] + "...(%d args)" % len(args)


def capture(port, resp):
    main = socket.create_connection(("127.0.0.1", port))
    other = socket.create_connection(("127.0.0.1", port))
    other_capture = Capture(other)
    try:
        session = Capture(main)
        # FLUSHALL's reply is not recorded: the two runs start from the same state.
        main.sendall(encode(("FLUSHALL",)))
        session.read_replies("FLUSHALL", 1)
        session.replies.clear()
        for args in [("HELLO", str(resp))] + COMMANDS:
            if args[0] == "OTHER":
                other.sendall(encode(args[1:]))
                other_capture.read_replies(describe(args), 1)
                continue
            main.sendall(encode(args))
            session.read_replies(describe(args), 1)
        return session.replies
    finally:
        main.close()
        other.close()


def write_outputs(resp, replies):
    stream = b"".join(data for data, _ in replies)
    with open(os.path.join(HERE, "redis_replies_resp%d.bin" % resp), "wb") as out:
        out.write(stream)
    with open(os.path.join(HERE, "redis_replies_resp%d.txt" % resp), "w") as out:
        out.write("replies %d\n" % len(replies))
        offset = 0
        for data, label in replies:
            out.write("%d %s %s\n" % (len(data), top_type(stream, offset), label))
            offset += len(data)
    print("resp%d: %d replies, %d bytes" % (resp, len(replies), len(stream)))


def main():
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--enable-debug-command", "yes"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while True:
            try:
                probe = socket.create_connection(("127.0.0.1", port))
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    sys.exit("redis-server did not start")
                time.sleep(0.05)
        # Make sure the server we talk to is the one we started.
        probe.sendall(encode(("INFO", "server")))
        time.sleep(0.2)
        info = probe.recv(1 << 16).decode()
        probe.close()
        if "process_id:%d\r\n" % server.pid not in info:
            sys.exit("port %d is served by another process" % port)
        for resp in (2, 3):
            write_outputs(resp, capture(port, resp))
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
