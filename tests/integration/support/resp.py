"""Raw RESP2/RESP3 client for differential tests.

The client never interprets replies beyond finding where one ends: the
differential runner compares the raw bytes the servers sent. `parse_reply`
turns raw bytes into a small tree for the comparison modes that look at
structure instead of bytes (shape, sorted, integer range).
"""

from __future__ import annotations

import dataclasses
import socket
import time

CRLF = b"\r\n"

# Type bytes whose payload is one line ended by CRLF.
_LINE_TYPES = frozenset(b"+-:_,#(")
# Type bytes followed by a length line and that many bytes plus CRLF.
_BLOB_TYPES = frozenset(b"$!=")
# Aggregate type bytes followed by an element count; maps and attributes
# count pairs, so they hold twice as many elements.
_AGGREGATE_TYPES = frozenset(b"*~>%|")
_PAIR_TYPES = frozenset(b"%|")

# Nesting deeper than this is treated as garbage rather than recursed into.
_MAX_DEPTH = 64


class RespProtocolError(Exception):
    """The bytes received cannot be a RESP reply."""


class ConnectionClosed(Exception):
    """The peer closed the connection (EOF or reset)."""


class ReplyTimeout(Exception):
    """No complete reply arrived within the timeout."""

    def __init__(self, partial: bytes):
        super().__init__(f"timed out; partial data {partial!r}")
        self.partial = partial


def _line_end(buf: bytes, pos: int) -> int | None:
    """Returns the index of the CRLF ending the line at pos, or None."""
    end = buf.find(CRLF, pos)
    return None if end < 0 else end


def scan_reply(buf: bytes, pos: int = 0, depth: int = 0) -> int | None:
    """Returns the offset just past the complete reply starting at `pos`.

    Returns None when `buf` holds only a prefix of a reply; raises
    RespProtocolError when the bytes cannot start a valid reply. Handles every
    RESP2 and RESP3 type, including attributes (which belong to the value that
    follows them) and streamed strings/aggregates.
    """
    if depth > _MAX_DEPTH:
        raise RespProtocolError("reply nested too deeply")
    if pos >= len(buf):
        return None
    kind = buf[pos]
    end = _line_end(buf, pos + 1)
    if end is None:
        return None
    header = buf[pos + 1:end]
    after_header = end + 2
    if kind in _LINE_TYPES:
        return after_header
    if kind in _BLOB_TYPES:
        if kind == ord("$") and header == b"?":
            return _scan_streamed_string(buf, after_header)
        length = _parse_length(header)
        if length < 0:
            if kind == ord("$"):  # RESP2 null bulk string "$-1".
                return after_header
            raise RespProtocolError(f"negative length {header!r}")
        stop = after_header + length + 2
        if len(buf) < stop:
            return None
        if buf[stop - 2:stop] != CRLF:
            raise RespProtocolError("blob not terminated by CRLF")
        return stop
    if kind in _AGGREGATE_TYPES:
        if header == b"?":
            return _scan_streamed_aggregate(buf, after_header, depth)
        count = _parse_length(header)
        if count < 0:
            if kind == ord("*"):  # RESP2 null array "*-1".
                return after_header
            raise RespProtocolError(f"negative count {header!r}")
        if kind in _PAIR_TYPES:
            count *= 2
        cursor = after_header
        for _ in range(count):
            cursor = scan_reply(buf, cursor, depth + 1)
            if cursor is None:
                return None
        if kind == ord("|"):
            # An attribute decorates the reply that follows it.
            return scan_reply(buf, cursor, depth + 1)
        return cursor
    raise RespProtocolError(f"unknown reply type byte {bytes([kind])!r}")


def _parse_length(header: bytes) -> int:
    try:
        return int(header)
    except ValueError:
        raise RespProtocolError(f"bad length {header!r}") from None


def _scan_streamed_string(buf: bytes, pos: int) -> int | None:
    """Scans ";len\\r\\nchunk\\r\\n" parts until the ";0\\r\\n" terminator."""
    while True:
        if pos >= len(buf):
            return None
        if buf[pos] != ord(";"):
            raise RespProtocolError("expected ';' in streamed string")
        end = _line_end(buf, pos + 1)
        if end is None:
            return None
        length = _parse_length(buf[pos + 1:end])
        pos = end + 2
        if length == 0:
            return pos
        pos += length + 2
        if len(buf) < pos:
            return None


def _scan_streamed_aggregate(buf: bytes, pos: int, depth: int) -> int | None:
    """Scans elements until the ".\\r\\n" terminator."""
    while True:
        if len(buf) < pos + 3:
            return None
        if buf[pos:pos + 3] == b".\r\n":
            return pos + 3
        pos = scan_reply(buf, pos, depth + 1)
        if pos is None:
            return None


@dataclasses.dataclass
class Node:
    """One parsed reply: its type byte, scalar payload or child nodes."""

    kind: str
    value: bytes | None = None
    children: list["Node"] | None = None
    attribute: "Node | None" = None

    @property
    def is_aggregate(self) -> bool:
        return self.children is not None


def parse_reply(raw: bytes) -> Node:
    """Parses one complete reply (as returned by RespClient.read_reply)."""
    node, end = _parse_at(raw, 0)
    if end != len(raw):
        raise RespProtocolError(f"trailing bytes after reply: {raw[end:]!r}")
    return node


def _parse_at(buf: bytes, pos: int) -> tuple[Node, int]:
    end = scan_reply(buf, pos)
    if end is None:
        raise RespProtocolError("incomplete reply")
    kind = chr(buf[pos])
    line_end = buf.find(CRLF, pos + 1)
    header = buf[pos + 1:line_end]
    cursor = line_end + 2
    if kind in "+-:_,#(":
        return Node(kind, header), cursor
    if kind in "$!=":
        if header == b"?":
            chunks = []
            while True:
                chunk_end = buf.find(CRLF, cursor + 1)
                length = int(buf[cursor + 1:chunk_end])
                cursor = chunk_end + 2
                if length == 0:
                    return Node(kind, b"".join(chunks)), cursor
                chunks.append(buf[cursor:cursor + length])
                cursor += length + 2
        length = int(header)
        if length < 0:
            return Node(kind, None), cursor
        return Node(kind, buf[cursor:cursor + length]), cursor + length + 2
    # Aggregates.
    children: list[Node] = []
    if header == b"?":
        while buf[cursor:cursor + 3] != b".\r\n":
            child, cursor = _parse_at(buf, cursor)
            children.append(child)
        return Node(kind, None, children), cursor + 3
    count = int(header)
    if count < 0:
        return Node(kind, None, None), cursor
    if kind in "%|":
        count *= 2
    for _ in range(count):
        child, cursor = _parse_at(buf, cursor)
        children.append(child)
    if kind == "|":
        decorated, cursor = _parse_at(buf, cursor)
        decorated.attribute = Node(kind, None, children)
        return decorated, cursor
    return Node(kind, None, children), cursor


def encode_command(args: list[bytes]) -> bytes:
    """Encodes a command as a RESP multibulk request."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)


class RespClient:
    """A blocking socket client that returns each reply as raw bytes."""

    def __init__(self, host: str, port: int, timeout: float = 2.0):
        self.host = host
        self.port = port
        self.timeout = timeout
        self._sock = socket.create_connection((host, port), timeout=timeout)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buf = bytearray()
        self.closed = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            try:
                self._sock.close()
            except OSError:
                pass

    def __enter__(self) -> "RespClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send_raw(self, data: bytes) -> None:
        """Sends bytes as they are; raises ConnectionClosed if it cannot."""
        try:
            self._sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError, OSError) as exc:
            raise ConnectionClosed(str(exc)) from None

    def send_command(self, args: list[bytes]) -> None:
        self.send_raw(encode_command(args))

    def _fill(self, deadline: float) -> None:
        """Reads more bytes into the buffer before `deadline`."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ReplyTimeout(bytes(self._buf))
        self._sock.settimeout(remaining)
        try:
            chunk = self._sock.recv(65536)
        except socket.timeout:
            raise ReplyTimeout(bytes(self._buf)) from None
        except (ConnectionResetError, OSError) as exc:
            raise ConnectionClosed(str(exc)) from None
        if not chunk:
            raise ConnectionClosed("EOF")
        self._buf += chunk

    def read_reply(self, timeout: float | None = None) -> bytes:
        """Returns the raw bytes of exactly one complete reply.

        Bytes after that reply stay buffered for the next call.
        """
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            end = scan_reply(bytes(self._buf)) if self._buf else None
            if end is not None:
                reply = bytes(self._buf[:end])
                del self._buf[:end]
                return reply
            self._fill(deadline)

    def command(self, *args: bytes | str | int) -> bytes:
        """Sends one command and returns its raw reply."""
        encoded = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        self.send_command(encoded)
        return self.read_reply()

    def expect_nothing(self, wait: float) -> bytes:
        """Waits `wait` seconds and returns whatever bytes arrived meanwhile.

        Returns b"" if nothing arrived; raises ConnectionClosed on EOF with an
        empty buffer.
        """
        deadline = time.monotonic() + wait
        try:
            while True:
                self._fill(deadline)
        except ReplyTimeout:
            pass
        data = bytes(self._buf)
        self._buf.clear()
        return data

    def wait_closed(self, timeout: float) -> tuple[bool, bytes]:
        """Waits for the peer to close the connection.

        Returns (True, b"") once EOF or reset is seen with nothing unread, or
        (False, data) if the connection stays open (data is what arrived).
        """
        if self._buf:
            data = bytes(self._buf)
            self._buf.clear()
            return False, data
        deadline = time.monotonic() + timeout
        try:
            while True:
                self._fill(deadline)
                if self._buf:
                    data = bytes(self._buf)
                    self._buf.clear()
                    return False, data
        except ConnectionClosed:
            return True, b""
        except ReplyTimeout:
            return False, b""
