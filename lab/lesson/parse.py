"""Low-level reading of a lesson file: front matter, step headings, fenced blocks.

``parse(text, path)`` never raises: whatever it cannot make sense of becomes a
``Problem`` with the line it is on, and it carries on. It knows the syntax only;
``loader`` turns the result into model objects and ``lint`` judges the meaning.

- Front matter: TOML between a first line ``+++`` and the next ``+++`` line.
- Steps: level-2 headings ``## Title {#id key=value key="a,b"}``.
- Fences: ````` ``` ````` or ``~~~`` (any length ≥ 3), closed by the same
  character at least as long. The info string's first word is the kind; a fence
  whose kind is not an action kind (```console, ```sh, …) is prose and stays in
  the text around it.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.lesson.model import ACTION_KINDS, Problem

NAMED_KINDS = ("view", "check", "op")  # kinds whose second word is a name

_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
_HEADING = re.compile(r"^ {0,3}##(?:[ \t]+(.*?))?[ \t]*#*[ \t]*$")
_ATTR_BLOCK = re.compile(r"\{([^{}]*)\}[ \t]*$")
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<key>[^\s="']+)=(?:"(?P<dq>(?:[^"\\]|\\.)*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s"']*))
      | (?P<word>[^\s="']+)
      | (?P<bad>\S+)
    )""",
    re.VERBOSE,
)
_TOML_WHERE = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)\s*$")


@dataclass
class Fence:
    """A fenced block. ``line`` is the opening fence's line, ``end`` the closing one."""

    marker: str  # the opening run of ` or ~
    info: str  # the whole info string
    words: list[str]  # info words that are not key=value
    attrs: dict[str, str]
    body: str
    line: int
    end: int  # line of the closing fence (last line of the file when unclosed)
    closed: bool = True
    attr_lines: dict[str, int] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.words[0] if self.words else ""

    @property
    def is_action(self) -> bool:
        return self.kind in ACTION_KINDS

    @property
    def name(self) -> str:
        return self.words[1] if self.kind in NAMED_KINDS and len(self.words) > 1 else ""

    @property
    def extra_words(self) -> list[str]:
        """Words after the kind (and the name, for view/check) that mean nothing."""
        skip = 2 if self.kind in NAMED_KINDS else 1
        return self.words[skip:]

    def body_line(self, index: int) -> int:
        """File line of the body's *index*-th line (0-based)."""
        return self.line + 1 + index


@dataclass
class Heading:
    title: str
    id: str  # "" when the heading has no {#id}
    attrs: dict[str, str]
    line: int
    has_block: bool = False  # a {…} attribute block was written


@dataclass
class Section:
    """The prose and fences under one step heading (or before the first: the intro)."""

    heading: Heading | None
    text: str = ""  # prose, including prose fences; action fences removed
    fences: list[Fence] = field(default_factory=list)  # action fences, in order
    prose_fences: list[Fence] = field(default_factory=list)


@dataclass
class Parsed:
    path: Path
    front: dict[str, Any] = field(default_factory=dict)
    front_ok: bool = False  # front matter present, closed and valid TOML
    front_line: int = 0  # line of the opening +++ (0: none)
    front_text: str = ""
    front_end: int = 0  # line of the closing +++ (0: none)
    intro: Section = field(default_factory=lambda: Section(None))
    steps: list[Section] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def key_line(self, key: str) -> int:
        """Line of ``key =`` in the front matter (the opening +++ when not found)."""
        pat = re.compile(rf"^\s*{re.escape(key)}\s*=")
        for i, line in enumerate(self.front_text.split("\n")):
            if pat.match(line):
                return self.front_line + 1 + i
        return max(self.front_line, 1)


def split_lines(text: str) -> list[str]:
    """Lines as an editor numbers them: BOM dropped, CRLF / CR / LF all end a line."""
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def parse_attrs(
    s: str, path: Path, line: int, problems: list[Problem], what: str
) -> tuple[list[str], dict[str, str]]:
    """Words and key=value pairs of an info string or a heading's {…} block."""
    words: list[str] = []
    attrs: dict[str, str] = {}
    for m in _TOKEN.finditer(s):
        if m.group("key") is not None:
            key = m.group("key")
            if m.group("dq") is not None:
                value = re.sub(r"\\(.)", r"\1", m.group("dq"))
            elif m.group("sq") is not None:
                value = m.group("sq")
            else:
                value = m.group("bare") or ""
            if key in attrs:
                problems.append(Problem(path, line, f"{what}: {key}= is given twice"))
            attrs[key] = value
        elif m.group("word") is not None:
            words.append(m.group("word"))
        elif m.group("bad"):
            bad = m.group("bad")
            hint = " (a quote is not closed)" if bad.count('"') % 2 or bad.count("'") % 2 else ""
            problems.append(Problem(path, line, f"{what}: cannot read {bad!r}{hint}"))
    return words, attrs


def parse_heading(raw: str, path: Path, line: int, problems: list[Problem]) -> Heading:
    m = _HEADING.match(raw)
    title = (m.group(1) or "").strip() if m else raw.strip("# ")
    heading = Heading(title=title, id="", attrs={}, line=line)
    block = _ATTR_BLOCK.search(title)
    if block:
        heading.has_block = True
        heading.title = title[: block.start()].rstrip()
        words, heading.attrs = parse_attrs(block.group(1), path, line, problems, "step heading")
        for w in words:
            if w.startswith("#") and not heading.id:
                heading.id = w[1:]  # '{#}' leaves it empty: lint says the step has no id
            elif w.startswith("#"):
                problems.append(
                    Problem(path, line, f"step heading: second id {w!r}; a step has one id")
                )
            else:
                problems.append(
                    Problem(path, line, f"step heading: {w!r} is neither #id nor key=value")
                )
    elif "{" in title and "}" not in title[title.index("{") :]:
        problems.append(Problem(path, line, "step heading: '{' is never closed with '}'"))
    return heading


def _read_front(lines: list[str], parsed: Parsed) -> int:
    """Read the front matter; return the index of the first body line."""
    path, problems = parsed.path, parsed.problems
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is None or lines[first].strip() != "+++":
        problems.append(
            Problem(
                path,
                (first or 0) + 1,
                "no front matter: a lesson file starts with a '+++' line, then TOML (title = \"…\"), then '+++'",
            )
        )
        return 0
    parsed.front_line = first + 1
    end = next((i for i in range(first + 1, len(lines)) if lines[i].strip() == "+++"), None)
    if end is None:
        problems.append(
            Problem(
                path,
                first + 1,
                "front matter opened with '+++' is never closed (add a '+++' line after it)",
            )
        )
        return first + 1
    parsed.front_text = "\n".join(lines[first + 1 : end])
    parsed.front_end = end + 1
    try:
        parsed.front = tomllib.loads(parsed.front_text)
        parsed.front_ok = True
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        where = _TOML_WHERE.search(msg)
        line = first + 1
        if where:
            msg = msg[: where.start()]
            line = first + 1 + int(where.group(1)) if where.group(1) else end
            line = min(line, end + 1)
        problems.append(Problem(path, line, f"front matter is not valid TOML: {msg}"))
    except Exception as e:  # tomllib is strict but never trust a parser with any input
        problems.append(Problem(path, first + 1, f"front matter cannot be read: {e}"))
    return end + 1


def _is_closing(ln: str, marker: str) -> bool:
    stripped = ln.lstrip(" ")
    if len(ln) - len(stripped) > 3:
        return False
    run = len(stripped) - len(stripped.lstrip(marker[0]))
    return run >= len(marker) and not stripped[run:].strip()


def parse(text: str, path: Path) -> Parsed:
    """Parse a lesson file's text. Never raises."""
    lines = split_lines(text)
    parsed = Parsed(path=path, lines=lines)
    problems = parsed.problems
    start = _read_front(lines, parsed)
    current = parsed.intro
    prose: list[str] = []

    def close_section() -> None:
        current.text = "\n".join(prose).strip("\n")
        prose.clear()

    i = start
    while i < len(lines):
        ln = lines[i]
        m = _FENCE.match(ln)
        if m and not (m.group(2)[0] == "`" and "`" in m.group(3)):
            marker, info = m.group(2), m.group(3).strip()
            j = i + 1
            while j < len(lines) and not _is_closing(lines[j], marker):
                j += 1
            closed = j < len(lines)
            indent = len(m.group(1))
            body_lines = [_dedent(b, indent) for b in lines[i + 1 : j]]
            fence = Fence(
                marker=marker,
                info=info,
                words=[],
                attrs={},
                line=i + 1,
                end=min(j, len(lines) - 1) + 1,
                closed=closed,
                body="\n".join(body_lines),
            )
            kind_word = info.split(None, 1)[0] if info else ""
            if kind_word in ACTION_KINDS:
                fence.words, fence.attrs = parse_attrs(
                    info, path, i + 1, problems, f"```{kind_word}"
                )
                current.fences.append(fence)
            else:
                fence.words, fence.attrs = parse_attrs(info, path, i + 1, [], "")
                current.prose_fences.append(fence)
                prose.extend(lines[i : j + 1])
            if not closed:
                problems.append(
                    Problem(
                        path,
                        i + 1,
                        f"fence {marker}{kind_word} is never closed (add a {marker} line after its content)",
                    )
                )
            i = j + 1
            continue
        if _HEADING.match(ln):
            close_section()
            current = Section(parse_heading(ln, path, i + 1, problems))
            parsed.steps.append(current)
        else:
            prose.append(ln)
        i += 1
    close_section()
    return parsed


def _dedent(line: str, n: int) -> str:
    k = 0
    while k < n and k < len(line) and line[k] == " ":
        k += 1
    return line[k:]
