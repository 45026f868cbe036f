"""Parser for the differential case files (tests/integration/diff/cases/*.txt).

See tests/integration/README.md for the format. In short: one step per line,
words split like redis-cli splits them, a blank line ends a case, `#` starts
a comment line, `%` lines are file-level settings, `!` lines are harness
directives and a `~mode` prefix relaxes how one reply is compared.
"""

from __future__ import annotations

import dataclasses
import pathlib
import re

VARIANTS = ("resp2", "resp3")

# Compare modes and how many arguments each takes before the command.
COMPARE_MODES = {
    "exact": 0,    # byte-for-byte (the default, never written)
    "type": 0,     # same reply type byte only
    "shape": 0,    # same types and aggregate sizes, map keys equal; scalars free
    "sorted": 0,   # equal after sorting every aggregate of scalars
    "int": 2,      # both replies are integers in [LO, HI]
    "match": 1,    # both raw replies fully match the regex (bytes, DOTALL)
    "any": 0,      # both sides answered with one reply of any content
    "scanall": 0,  # iterate a SCAN-family cursor to 0 on each side; compare key sets
}

# Directives that read a reply and so accept a compare-mode prefix.
_REPLYING_DIRECTIVES = {"raw", "read"}
_DIRECTIVES = {"sleep", "conn", "raw", "send", "read", "noreply", "closed", "resp2", "resp3"}

MAX_SLEEP_MS = 2000


class CaseSyntaxError(ValueError):
    """A case file line cannot be parsed; the message names file and line."""


_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "a": "\a"}


# Commands ~scanall can iterate, with the index of their cursor argument.
SCAN_COMMANDS = {b"SCAN": 1, b"SSCAN": 2, b"HSCAN": 2, b"ZSCAN": 2}


def split_args(line: str) -> list[bytes]:
    """Splits a line into arguments the way redis-cli does.

    Double quotes allow \\n \\r \\t \\b \\a \\xHH and \\<char> escapes; single
    quotes allow only \\'. A closing quote must be followed by a space or the
    end of the line. Raises ValueError on unbalanced quotes.
    """
    return [token for token, _ in _tokenize(line)]


def _tokenize(line: str) -> list[tuple[bytes, int]]:
    """split_args, also returning the offset just past each word."""
    args: list[tuple[bytes, int]] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i].isspace():
            i += 1
        if i >= n:
            return args
        current = bytearray()
        in_double = in_single = False
        while True:
            if in_double:
                if i >= n:
                    raise ValueError("unbalanced double quotes")
                ch = line[i]
                if ch == "\\" and i + 3 < n and line[i + 1] == "x" and _is_hex(line[i + 2:i + 4]):
                    current.append(int(line[i + 2:i + 4], 16))
                    i += 3
                elif ch == "\\" and i + 1 < n:
                    nxt = line[i + 1]
                    current += _SIMPLE_ESCAPES.get(nxt, nxt).encode("latin-1")
                    i += 1
                elif ch == '"':
                    if i + 1 < n and not line[i + 1].isspace():
                        raise ValueError("closing quote must be followed by a space")
                    i += 1
                    break
                else:
                    current += ch.encode("utf-8")
            elif in_single:
                if i >= n:
                    raise ValueError("unbalanced single quotes")
                ch = line[i]
                if ch == "\\" and i + 1 < n and line[i + 1] == "'":
                    current += b"'"
                    i += 1
                elif ch == "'":
                    if i + 1 < n and not line[i + 1].isspace():
                        raise ValueError("closing quote must be followed by a space")
                    i += 1
                    break
                else:
                    current += ch.encode("utf-8")
            else:
                if i >= n:
                    break
                ch = line[i]
                if ch.isspace():
                    break
                if ch == '"':
                    in_double = True
                elif ch == "'":
                    in_single = True
                else:
                    current += ch.encode("utf-8")
            i += 1
        args.append((bytes(current), i))


def _is_hex(text: str) -> bool:
    return len(text) == 2 and all(c in "0123456789abcdefABCDEF" for c in text)


@dataclasses.dataclass
class Step:
    """One line of a case: a command or a harness directive."""

    line: int
    text: str
    action: str                      # "command" or a directive name
    args: list[bytes]
    mode: str = "exact"
    mode_args: tuple = ()


@dataclasses.dataclass
class Case:
    file: str
    line: int
    steps: list[Step]
    variants: tuple[str, ...] = VARIANTS

    @property
    def case_id(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def source(self) -> str:
        return "\n".join(f"{s.line:4d}| {s.text}" for s in self.steps)

    def config_params(self) -> list[bytes]:
        """Parameter names the case changes with CONFIG SET (lowercased)."""
        names: list[bytes] = []
        for step in self.steps:
            args = step.args
            if step.action == "command" and len(args) >= 2 and args[0].upper() == b"CONFIG" \
                    and args[1].upper() == b"SET":
                names += [args[i].lower() for i in range(2, len(args), 2)]
        return names


@dataclasses.dataclass
class CaseFile:
    name: str
    path: pathlib.Path
    cases: list[Case]
    skip_reason: str | None = None
    # Why the file does not apply through the proxy (test_proxy_diff.py).
    proxy_skip_reason: str | None = None
    server_args: tuple[str, ...] = ()
    variants: tuple[str, ...] = VARIANTS

    @property
    def password(self) -> str | None:
        """The requirepass given in %server, used by the harness's own connections."""
        args = list(self.server_args)
        for i, arg in enumerate(args[:-1]):
            if arg == "--requirepass":
                return args[i + 1]
        return None


def parse_file(path: pathlib.Path) -> CaseFile:
    """Parses one case file; raises CaseSyntaxError with file:line on errors."""
    name = path.stem
    result = CaseFile(name=name, path=path, cases=[])
    current: list[Step] = []
    case_variants: set[str] = set()
    start_line = 0

    def finish() -> None:
        nonlocal current, case_variants
        if current:
            variants = tuple(v for v in result.variants
                             if not case_variants or v in case_variants)
            if not any(s.action not in ("resp2", "resp3") for s in current):
                raise CaseSyntaxError(f"{path}:{start_line}: case has no steps")
            result.cases.append(Case(name, start_line, current, variants))
        current = []
        case_variants = set()

    for number, raw_line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw_line.strip()
        if not line:
            finish()
            continue
        if line.startswith("#"):
            continue
        where = f"{path}:{number}"
        if line.startswith("%"):
            if current:
                raise CaseSyntaxError(f"{where}: file settings must come before the cases")
            _parse_setting(result, line[1:], where)
            continue
        try:
            step = _parse_step(number, line)
        except ValueError as exc:
            raise CaseSyntaxError(f"{where}: {exc}") from None
        if not current:
            start_line = number
        if step.action in ("resp2", "resp3"):
            case_variants.add(step.action)
        current.append(step)
    finish()
    return result


def _parse_setting(result: CaseFile, text: str, where: str) -> None:
    words = text.split(None, 1)
    key = words[0] if words else ""
    value = words[1].strip() if len(words) > 1 else ""
    if key == "skip":
        result.skip_reason = value or "skipped by the case file"
    elif key == "proxy-skip":
        if not value:
            raise CaseSyntaxError(f"{where}: %proxy-skip needs a reason")
        result.proxy_skip_reason = value
    elif key == "server":
        result.server_args = tuple(arg.decode() for arg in split_args(value))
    elif key == "variants":
        chosen = tuple(value.split())
        if not chosen or any(v not in VARIANTS for v in chosen):
            raise CaseSyntaxError(f"{where}: %variants takes resp2 and/or resp3")
        result.variants = chosen
    else:
        raise CaseSyntaxError(f"{where}: unknown setting %{key}")


def _parse_step(number: int, line: str) -> Step:
    mode, mode_args = "exact", ()
    rest = line
    if rest.startswith("~"):
        head, _, rest = rest.partition(" ")
        mode = head[1:]
        if mode not in COMPARE_MODES or mode == "exact":
            raise ValueError(f"unknown compare mode ~{mode}")
        tokens = _tokenize(rest)
        count = COMPARE_MODES[mode]
        if len(tokens) <= count:
            raise ValueError(f"~{mode} needs {count} argument(s) and a command")
        mode_args = tuple(token for token, _ in tokens[:count])
        if count:
            rest = rest[tokens[count - 1][1]:]
        rest = rest.strip()
        if mode == "int":
            mode_args = tuple(int(w) for w in mode_args)
        elif mode == "match":
            mode_args = (re.compile(mode_args[0], re.DOTALL),)
    if rest.startswith("!"):
        words = split_args(rest[1:])
        if not words:
            raise ValueError("empty directive")
        name = words[0].decode()
        if name not in _DIRECTIVES:
            raise ValueError(f"unknown directive !{name}")
        if mode != "exact" and name not in _REPLYING_DIRECTIVES:
            raise ValueError(f"~{mode} cannot apply to !{name}")
        args = words[1:]
        _check_directive(name, args)
        return Step(number, line, name, args, mode, mode_args)
    args = split_args(rest)
    if not args:
        raise ValueError("empty command")
    if mode == "scanall" and args[0].upper() not in SCAN_COMMANDS:
        raise ValueError("~scanall applies only to SCAN, SSCAN, HSCAN and ZSCAN")
    return Step(number, line, "command", args, mode, mode_args)


def _check_directive(name: str, args: list[bytes]) -> None:
    if name == "sleep":
        if len(args) != 1 or not args[0].isdigit() or int(args[0]) > MAX_SLEEP_MS:
            raise ValueError(f"!sleep takes milliseconds (at most {MAX_SLEEP_MS})")
    elif name == "conn":
        if len(args) != 1 or not args[0].isdigit() or not 1 <= int(args[0]) <= 8:
            raise ValueError("!conn takes a connection number 1..8")
    elif name in ("raw", "send"):
        if len(args) != 1 or not args[0]:
            raise ValueError(f"!{name} takes exactly one (quoted) byte string")
    elif name == "noreply":
        if len(args) > 1 or (args and not args[0].isdigit()):
            raise ValueError("!noreply takes an optional wait in milliseconds")
    elif args:
        raise ValueError(f"!{name} takes no arguments")


def load_all(directory: pathlib.Path) -> list[CaseFile]:
    """Parses every *.txt case file in `directory`, sorted by name."""
    return [parse_file(path) for path in sorted(directory.glob("*.txt"))]
