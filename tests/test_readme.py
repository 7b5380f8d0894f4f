"""Every command of the README exits 0 on the bundled glossary, run as a new user runs it.

The commands are read from README.md itself (its fenced ``sh``/``bash``/``console`` blocks and
its ``python`` snippets), so editing the README edits this test. They run in README order, in one
shell-like session over a temporary copy of the checkout: ``export`` and ``cd`` carry over from one
command to the next, nothing in the checkout is written, and the store is the one the README names
(``./store`` in the copy) or a default store under a temporary ``XDG_DATA_HOME``.

What a new user runs but this test does not: creating the virtual environment, ``pip install`` and
``. .venv/bin/activate`` (the test runs in the installed environment, its ``bin`` first on PATH and
``.venv/bin/`` meaning that ``bin``). ``kg serve`` is started on a free port, must answer
``/health`` with 200 and is stopped with Ctrl-C (SIGINT); the ``curl`` commands, written for a
server "running in another terminal" on port 8000, get a ``kg serve`` of their own on a free port.
Embeddings use the fake encoder (``KG_MODEL=fake``), and every command imports the copy's packages
(``PYTHONPATH``), as the editable install makes the checkout's own commands import the checkout's.
The README's ``pytest`` (the whole suite) is the command ``.ci/run`` runs, so CI runs it; here
it is skipped rather than run from inside itself."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from api.live import free_port

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
BIN = Path(sys.executable).parent  # the environment the tests run in: kg, pytest, python
SHARED = Path(os.environ.get("KG_SHARED_DIR", REPO.parent / "shared"))  # as the checkout's conftest.py

SHELL_LANGUAGES = {"sh", "bash", "shell", "console", "shell-session", "zsh"}
PYTHON_LANGUAGES = {"python", "py", "python3"}
README_PORT = "8000"
SERVER_URL = re.compile(r"\b(localhost|127\.0\.0\.1):" + README_PORT + r"\b")
SETUP = [  # parts of a command that build the environment this test already runs in
    (re.compile(r"^(python3?(\.\d+)?|py)\s+-m\s+venv\b|^virtualenv\b|^uv\s+venv\b"), "creates the virtual environment"),
    (re.compile(r"(^|/)pip3?\s+install\b|-m\s+pip\s+install\b|^uv\s+pip\s+install\b"), "installs the package"),
    (re.compile(r"^(\.|source)\s+\S*bin/activate\b"), "activates the virtual environment"),
]
# Commands that take minutes: the whole test suite, training, benchmarks.
SLOW = re.compile(r"(^|[\s/])(pytest|py\.test)(\s|$)|-m\s+pytest\b|\bkg\s+(train-prereqs|bench)\b|-m\s+benchmarks\b")
QUIET_BUILTINS = {"export", "cd", "set", "unset", "alias", "true", ":"}
TIMEOUT = 300.0
SLOW_TIMEOUT = 3600.0
SERVER_START_TIMEOUT = 120.0


# -- reading the README ---------------------------------------------------------------------


@dataclass
class Command:
    """One command line of the README (or one python snippet) and how this test runs it."""

    line: int  # its first line in README.md
    text: str  # as written, comments and continuations removed
    kind: str  # "shell", "serve", "python" or "setup" (nothing left to run)
    run: str = ""  # what is run: ``text`` without its setup parts, ``.venv/bin/`` resolved
    skipped: list[str] = field(default_factory=list)  # the setup parts left out, with why
    needs_server: bool = False

    @property
    def slow(self) -> bool:
        return self.kind != "python" and bool(SLOW.search(self.run))

    @property
    def needs_shared(self) -> bool:
        return "../shared" in self.text or "KG_SHARED_DIR" in self.text

    @property
    def runs_test_suite(self) -> bool:
        return self.kind == "shell" and bool(re.search(r"(^|[\s/])pytest(\s|$)|-m\s+pytest\b", self.run))

    @property
    def id(self) -> str:
        one_line = " ".join(self.text.split())
        return one_line if len(one_line) <= 72 else f"{one_line[:32]} ... {one_line[-35:]}"


def _scan(text: str) -> Iterator[tuple[int, str, bool]]:
    """(index, character, outside any quote) along a shell line; a backslash escapes outside single quotes."""
    quote = ""
    escaped = False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
            yield index, char, False
            continue
        if char == "\\" and quote != "'":
            escaped = True
            yield index, char, False
            continue
        if quote:
            if char == quote:
                quote = ""
            yield index, char, False
            continue
        if char in "'\"":
            quote = char
            yield index, char, False
            continue
        yield index, char, True


def strip_comment(line: str) -> str:
    """``line`` without its ``# comment``: a ``#`` outside quotes that starts a word."""
    for index, char, bare in _scan(line):
        if bare and char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index].rstrip()
    return line.rstrip()


def split_and(command: str) -> list[str]:
    """The parts of ``a && b && c`` (``&&`` outside quotes)."""
    parts, start = [], 0
    for index, char, bare in _scan(command):
        if bare and char == "&" and command[index + 1 : index + 2] == "&" and index >= start:
            parts.append(command[start:index].strip())
            start = index + 2
    parts.append(command[start:].strip())
    return [part for part in parts if part]


def fenced_blocks(markdown: str) -> Iterator[tuple[str, int, list[str]]]:
    """(language, line number of its first line, lines) of each fenced code block."""
    lines = markdown.splitlines()
    index = 0
    while index < len(lines):
        opening = re.match(r"^ {0,3}(`{3,}|~{3,})\s*([\w+.-]*)", lines[index])
        if not opening:
            index += 1
            continue
        fence, language = opening.group(1), opening.group(2).lower()
        body: list[str] = []
        index += 1
        while index < len(lines) and not re.match(
            rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$", lines[index]
        ):
            body.append(lines[index])
            index += 1
        yield language, index - len(body) + 1, body
        index += 1


def shell_commands(language: str, first_line: int, body: list[str]) -> Iterator[tuple[int, str]]:
    """(README line, command) of a shell block: continuations joined, comments dropped; in a
    ``console`` block only the lines after a ``$`` prompt (the rest is output)."""
    console = language in {"console", "shell-session"}
    pending: list[str] = []
    start = 0
    for offset, raw in enumerate(body):
        line = raw.rstrip()
        if not pending:
            if console or line.lstrip().startswith("$ "):
                stripped = line.lstrip()
                if not stripped.startswith("$"):
                    continue  # output
                line = stripped[1:].lstrip()
            start = first_line + offset
        if line.endswith("\\") and not line.endswith("\\\\"):
            pending.append(line[:-1])
            continue
        pending.append(line)
        command = strip_comment(" ".join(part.strip() for part in pending))
        pending = []
        if command:
            yield start, command


def plan(line: int, text: str) -> Command:
    """How a README command line is run (see the module's docstring)."""
    kept, skipped = [], []
    for part in split_and(text):
        reason = next((why for pattern, why in SETUP if pattern.search(part)), None)
        if reason:
            skipped.append(f"{part!r}: {reason}")
        else:
            kept.append(re.sub(r"(?<![\w./-])\.venv/bin/", f"{BIN}/", part))
    if not kept:
        return Command(line, text, "setup", skipped=skipped)
    try:
        last = shlex.split(kept[-1])
    except ValueError:  # unbalanced quotes: bash will say so when it runs
        last = []
    kind = "serve" if len(last) >= 2 and Path(last[0]).name == "kg" and last[1] == "serve" else "shell"
    return Command(
        line,
        text,
        kind,
        run=" && ".join(kept),
        skipped=skipped,
        needs_server=bool(SERVER_URL.search(text)) and kind != "serve",
    )


def readme_commands(readme: Path = README) -> list[Command]:
    commands: list[Command] = []
    for language, first_line, body in fenced_blocks(readme.read_text(encoding="utf-8")):
        if language in SHELL_LANGUAGES:
            commands += [plan(line, text) for line, text in shell_commands(language, first_line, body)]
        elif language in PYTHON_LANGUAGES and any(line.strip() for line in body):
            snippet = "\n".join(body)
            commands.append(Command(first_line, snippet, "python", run=snippet))
    return commands


COMMANDS = readme_commands()


# -- running them ---------------------------------------------------------------------------

# The command runs in bash as typed at a prompt (eval); then the shell's directory and
# environment are saved, so that `export` and `cd` reach the next command.
SHELL_WRAPPER = 'eval "$1"; __readme_rc=$?; pwd -P >"$2"; env -0 >"$3"; exit $__readme_rc'
# A python snippet runs as pasted into the interpreter: each expression's value is printed,
# and an empty one (None, "", [], {}) shows nothing, so it fails.
PYTHON_DRIVER = r"""
import ast, sys
path, first_line = sys.argv[1], int(sys.argv[2])
tree = ast.parse(open(path, encoding="utf-8").read())
ast.increment_lineno(tree, first_line - 1)
namespace = {"__name__": "__main__"}
for node in tree.body:
    if isinstance(node, ast.Expr):
        value = eval(compile(ast.Expression(node.value), "README.md", "eval"), namespace)
        print(repr(value))
        if value is None or (hasattr(value, "__len__") and not len(value)):
            sys.exit(f"README.md:{node.lineno}: {ast.unparse(node)} is {value!r}: the snippet shows nothing")
    else:
        exec(compile(ast.Module([node], []), "README.md", "exec"), namespace)
"""


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str
    expects_output: bool = True
    output_file: Path | None = None
    health: int | None = None  # what GET /health answered (kg serve)
    note: str = ""


def _tail(text: str, limit: int = 6000) -> str:
    return text if len(text) <= limit else f"[... {len(text) - limit} characters]\n" + text[-limit:]


def _output_file(command: str) -> str | None:
    """FILE of ``--output FILE`` (or ``-o FILE``) in the last part of ``command``."""
    try:
        words = shlex.split(split_and(command)[-1])
    except ValueError:
        return None
    for index, word in enumerate(words):
        if word.startswith("--output="):
            return word.split("=", 1)[1]
        if word in {"--output", "-o"} and index + 1 < len(words):
            return words[index + 1]
    return None


class ReadmeSession:
    """The README's commands run in order in one shell-like session over a copy of the checkout.

    A case asked for out of order (``-k``, ``-m``) first runs the earlier commands it may depend on
    (the ingest above all), except the slow ones; each command runs once."""

    def __init__(self, root: Path, config: pytest.Config) -> None:
        self.root = root
        self.config = config
        self.cwd = root / "main"
        self.env = self._environment()
        self.results: dict[int, Outcome | BaseException] = {}
        self.server: subprocess.Popen | None = None
        self.server_port = ""
        self.logs = root / "logs"
        self.logs.mkdir()

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KG_") or k == "KG_SHARED_DIR"}
        env.pop("VIRTUAL_ENV", None)
        env.update(
            PATH=f"{BIN}{os.pathsep}{env.get('PATH', os.defpath)}",
            KG_MODEL="fake",  # the deterministic hashing encoder: no model is loaded
            XDG_DATA_HOME=str(self.root / "xdg"),  # the default store, before the README names one
            PYTHONDONTWRITEBYTECODE="1",
            # The copy's packages, not the checkout's (the editable install points there): the `kg` of
            # every command is the code its tests run, even when the checkout is edited meanwhile.
            PYTHONPATH=os.pathsep.join([str(self.cwd), *filter(None, [os.environ.get("PYTHONPATH")])]),
        )
        if any("KG_ADMIN_TOKEN" in command.text for command in COMMANDS):
            env["KG_ADMIN_TOKEN"] = "readme-test-token"
        return env

    # -- the order ----------------------------------------------------------------------

    def outcome(self, index: int) -> Outcome:
        for earlier in range(index):
            if earlier not in self.results and not COMMANDS[earlier].slow:
                self._record(earlier)
        if index not in self.results:
            self._record(index)
        result = self.results[index]
        if isinstance(result, BaseException):
            raise result
        return result

    def _record(self, index: int) -> None:
        try:
            self.results[index] = self._execute(COMMANDS[index])
        except (pytest.skip.Exception, pytest.fail.Exception) as outcome:
            self.results[index] = outcome

    # -- one command --------------------------------------------------------------------

    def _execute(self, command: Command) -> Outcome:
        if command.kind == "setup":
            pytest.skip("; ".join(command.skipped) + " (the test runs in the installed environment)")
        if command.needs_shared and not SHARED.exists():
            if os.environ.get("CI") == "true":
                pytest.fail(f"{SHARED} is missing: CI must run beside ../shared")
            pytest.skip(f"{SHARED} not present (the shared corpus sits beside the checkout)")
        if command.runs_test_suite:
            # Running the suite from inside the suite doubles its time and its flakiness; CI runs
            # exactly this command (.ci/run calls the README's test command).
            pytest.skip("the README's test command is the one .ci/run runs: CI runs it, not this test")
        if command.kind == "python":
            return self._python(command)
        if command.kind == "serve":
            return self._serve(command)
        return self._shell(command)

    def _shell(self, command: Command) -> Outcome:
        text = command.run
        if command.needs_server:
            text = SERVER_URL.sub(lambda m: f"{m.group(1)}:{self._background_server()}", text)
        where, environment = self.logs / "pwd", self.logs / "env"
        done = self._run(
            ["bash", "-c", SHELL_WRAPPER, "readme", text, str(where), str(environment)],
            SLOW_TIMEOUT if command.slow else TIMEOUT,
        )
        if where.exists() and environment.exists():
            self.cwd = Path(where.read_text().strip())
            dumped = environment.read_bytes().decode("utf-8", "surrogateescape").split("\0")
            self.env = dict(entry.split("=", 1) for entry in dumped if "=" in entry)
            for name in ("_", "SHLVL", "PWD", "OLDPWD"):
                self.env.pop(name, None)
            where.unlink()
            environment.unlink()
        first = split_and(command.run)[-1].split()[:1]
        quiet = not first or first[0] in QUIET_BUILTINS or re.fullmatch(r"\w+=\S*", first[0]) is not None
        written = _output_file(command.run)
        # A command that writes a file says so on stderr (stdout is the data's): the file is checked.
        return Outcome(
            done.returncode,
            done.stdout,
            done.stderr,
            expects_output=not quiet and not written,
            output_file=self.cwd / written if written else None,
        )

    def _run(self, args: list[str], timeout: float) -> subprocess.CompletedProcess:
        """``args`` in a session of its own (all of it is stopped on a timeout), stdin closed."""
        process = subprocess.Popen(
            args,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            pytest.fail(
                f"it did not finish in {timeout:.0f} s\n--- stdout\n{_tail(stdout)}\n--- stderr\n{_tail(stderr)}"
            )
        return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)

    def _python(self, command: Command) -> Outcome:
        snippet, driver = self.logs / f"snippet_{command.line}.py", self.logs / "driver.py"
        snippet.write_text(command.run, encoding="utf-8")
        driver.write_text(PYTHON_DRIVER, encoding="utf-8")
        done = self._run([str(BIN / "python"), str(driver), str(snippet), str(command.line)], TIMEOUT)
        return Outcome(done.returncode, done.stdout, done.stderr)

    def _start(self, text: str, name: str) -> tuple[subprocess.Popen, str, Path, Path]:
        """``text`` (a ``kg serve`` command) on a free port, in a session of its own, once ``/health``
        answers 200; (process, port, stdout file, stderr file)."""
        port = str(free_port())
        text = re.sub(r"(--port[ =])" + README_PORT + r"\b", rf"\g<1>{port}", SERVER_URL.sub(rf"\1:{port}", text))
        out, err = self.logs / f"{name}.out", self.logs / f"{name}.err"
        with out.open("w") as stdout, err.open("w") as stderr:
            process = subprocess.Popen(
                ["bash", "-c", 'eval "exec $1"', "readme", text],
                cwd=self.cwd,
                env={**self.env, "KG_PORT": port},
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,
            )
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    return process, port, out, err
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                _stop(process)
                pytest.fail(
                    f"`{text}` did not answer /health on port {port} (exit code {process.returncode})\n"
                    f"--- stdout\n{_tail(out.read_text())}\n--- stderr\n{_tail(err.read_text())}"
                )
            time.sleep(0.1)

    def _serve(self, command: Command) -> Outcome:
        """Start it, check /health answers 200, stop it with Ctrl-C: it must exit 0."""
        process, port, out, err = self._start(command.run, f"serve_{command.line}")
        health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=10)
        returncode = _stop(process)
        return Outcome(
            returncode,
            out.read_text(),
            err.read_text(),
            expects_output=False,
            health=health.status_code,
            note=f"GET /health on port {port}: {health.status_code} {health.text[:200]}",
        )

    def _background_server(self) -> str:
        """The port of a `kg serve` that stands for the README's "running in another terminal"."""
        if self.server is None or self.server.poll() is not None:
            self.server, self.server_port, _, _ = self._start(f"{BIN / 'kg'} serve", "background_server")
        return self.server_port

    def close(self) -> None:
        if self.server is not None:
            _stop(self.server)


def _stop(process: subprocess.Popen) -> int:
    """Ctrl-C to the process's session (its own), then SIGKILL if it lingers; its exit code."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    return process.returncode


def _copy_checkout(target: Path) -> None:
    """The checkout as a user has it, without what `git status` ignores or would show as added by
    running the README (``store/``), nor the virtual environment."""
    top_level = {".git", ".venv", "store", ".kg-store", "build", "dist", "test-artifacts", ".schemathesis"}
    caches = {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"}

    def ignore(directory: str, names: list[str]) -> set[str]:
        skip = {n for n in names if n in caches or n.endswith(".egg-info")}
        return skip | (top_level & set(names) if Path(directory) == REPO else set())

    shutil.copytree(REPO, target, symlinks=True, ignore=ignore)


@pytest.fixture(scope="module")
def readme_session(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[ReadmeSession]:
    root = tmp_path_factory.mktemp("readme")
    _copy_checkout(root / "main")
    if SHARED.exists():  # `../shared` from the copy is the shared corpus, as beside the checkout
        (root / "shared").symlink_to(SHARED.resolve(), target_is_directory=True)
    bundled_before = sorted(os.listdir(REPO / "data"))
    session = ReadmeSession(root, request.config)
    try:
        yield session
    finally:
        session.close()
    # The commands wrote into the copy only (kg prereqs --confirm writes beside the glossary it read).
    assert sorted(os.listdir(REPO / "data")) == bundled_before, "a README command wrote into the checkout's data/"


def test_readme_has_commands() -> None:
    """The parser finds the README's commands (an empty parametrization would pass unseen)."""
    kinds = {command.kind for command in COMMANDS}
    assert {"shell", "serve", "python"} <= kinds, [(c.line, c.kind, c.text) for c in COMMANDS]
    assert any(re.search(r"\bkg ingest\b", command.run) for command in COMMANDS)


@pytest.mark.parametrize(
    "index",
    [pytest.param(i, id=c.id, marks=[pytest.mark.slow] if c.slow else []) for i, c in enumerate(COMMANDS)],
)
def test_readme_command(readme_session: ReadmeSession, index: int) -> None:
    command = COMMANDS[index]
    outcome = readme_session.outcome(index)
    shown = (
        f"README.md:{command.line}: {command.text}\nran: {command.run}\n"
        + "".join(f"skipped {part}\n" for part in command.skipped)
        + (f"{outcome.note}\n" if outcome.note else "")
        + f"exit code {outcome.returncode}\n--- stdout\n{_tail(outcome.stdout)}\n--- stderr\n{_tail(outcome.stderr)}"
    )
    assert outcome.returncode == 0, shown
    if outcome.expects_output:
        assert outcome.stdout.strip(), "it printed nothing\n" + shown
    if outcome.output_file is not None:
        assert outcome.output_file.is_file() and outcome.output_file.stat().st_size, (
            f"{outcome.output_file} was not written\n" + shown
        )
    if command.needs_server:  # curl -s exits 0 on a 404 too: the answer must not be the API's error
        try:
            answer = json.loads(outcome.stdout)
        except ValueError:
            answer = None
        assert not (isinstance(answer, dict) and "error" in answer), "the server answered an error\n" + shown
    if command.kind == "serve":
        assert outcome.health == 200, shown


def test_parser_reads_blocks_as_a_shell_does(tmp_path: Path) -> None:
    """Comments, continuations, console prompts and setup parts, on a README of its own."""
    readme = tmp_path / "README.md"
    readme.write_text(
        "```sh\n"
        "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/kg serve   # serve it\n"
        "kg search 'a # b' \\\n"
        "   --k 3   # not the query\n"
        "\n"
        "# a comment line\n"
        "```\n"
        "```console\n"
        "$ curl -s localhost:8000/health\n"
        '{"status": "ok"}\n'
        "```\n"
        "```python\n"
        "print(1)\n"
        "```\n",
        encoding="utf-8",
    )
    commands = readme_commands(readme)
    assert [(c.line, c.kind, c.text) for c in commands] == [
        (2, "serve", "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/kg serve"),
        (3, "shell", "kg search 'a # b' --k 3"),
        (9, "shell", "curl -s localhost:8000/health"),
        (13, "python", "print(1)"),
    ]
    assert commands[0].run == f"{BIN}/kg serve" and len(commands[0].skipped) == 2
    assert commands[2].needs_server and not commands[1].needs_server
