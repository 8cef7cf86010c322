"""The container files in docker/, checked as text: no Docker engine runs in the tests.

The Dockerfile and compose.yaml must agree with the project: what they copy exists, the
image's libraries are the lock's (requirements/runtime.txt, installed with their hashes), the
entrypoint is the console script, every CONTACTD_* variable names a real setting, the ports
are the configured port, and the compose file is portable and runs this Dockerfile.
PyYAML is not a dependency, so compose.yaml is read by a small parser for the subset of
YAML it uses; anything outside that subset fails the tests instead of being skipped.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import re
import shlex
import tomllib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version
from pydantic import BaseModel

from contactd import settings
from contactd.app import create_app
from contactd.cli import main as cli

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
DOCKERFILE = DOCKER / "Dockerfile"
COMPOSE = DOCKER / "compose.yaml"
README = DOCKER / "README.md"
PYPROJECT = ROOT / "pyproject.toml"
RUNTIME_LOCK = ROOT / "requirements" / "runtime.txt"
DEV_LOCK = ROOT / "requirements" / "dev.txt"
SHIPPED_CONFIG = ROOT / "config" / "contactd.toml"

# Variables that are not CONTACTD_<SECTION>__<KEY> overrides but may be set for a container.
SPECIAL_VARIABLES = {"CONTACTD_CONFIG", "CONTACTD_DATABASE_URL"}
CONTACTD_NAME = re.compile(r"\bCONTACTD_[A-Za-z0-9_]+")


# --- reading the Dockerfile -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Instruction:
    line: int
    keyword: str
    args: str


def dockerfile_stages() -> list[list[Instruction]]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped, one list
    per stage (each starting with its FROM)."""
    instructions: list[Instruction] = []
    pending: str | None = None
    start = 0
    for number, raw in enumerate(DOCKERFILE.read_text(encoding="utf-8").splitlines(), 1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue  # also inside a continued instruction, as Docker does
        if pending is None:
            start, pending = number, ""
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, args = (pending + stripped).partition(" ")
        instructions.append(Instruction(start, keyword.upper(), args.strip()))
        pending = None
    assert pending is None, "the Dockerfile ends inside a continued instruction"
    assert instructions, "the Dockerfile is empty"
    assert instructions[0].keyword in {"FROM", "ARG"}, "no FROM first"
    stages: list[list[Instruction]] = []
    for ins in instructions:
        if ins.keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(ins)
    return stages


def all_instructions(keyword: str) -> list[Instruction]:
    return [i for stage in dockerfile_stages() for i in stage if i.keyword == keyword]


def final_stage(keyword: str) -> list[Instruction]:
    return [i for i in dockerfile_stages()[-1] if i.keyword == keyword]


def exec_form(ins: Instruction) -> list[str]:
    """The JSON array of an exec-form instruction (ENTRYPOINT, CMD, HEALTHCHECK ... CMD)."""
    args = ins.args
    if ins.keyword == "HEALTHCHECK":
        parts = re.split(r"(?:^|\s)CMD\s+", args, maxsplit=1)
        args = parts[1] if len(parts) == 2 else ""
    try:
        value = json.loads(args)
    except json.JSONDecodeError:
        pytest.fail(f"Dockerfile line {ins.line}: {ins.keyword} is not in exec (JSON) form")
    assert isinstance(value, list), f"Dockerfile line {ins.line}: not a JSON array"
    assert value, f"Dockerfile line {ins.line}: empty array"
    assert all(isinstance(v, str) for v in value), f"line {ins.line}: not all strings"
    return value


# pip options that take a value (as the next word, or after "="), so that it is not read as
# a requirement.
PIP_OPTIONS_WITH_VALUES = {
    "-r", "--requirement", "-c", "--constraint", "-i", "--index-url", "--extra-index-url",
    "-f", "--find-links", "-w", "--wheel-dir", "-t", "--target", "--prefix", "--root",
    "--cache-dir", "--progress-bar",
}  # fmt: skip


@dataclasses.dataclass(frozen=True)
class PipCommand:
    line: int
    options: dict[str, list[str]]  # option -> its values ("" for a flag), as written
    targets: list[str]  # what it installs or builds by name, path or URL


def pip_commands(instructions: list[Instruction], verb: str) -> list[PipCommand]:
    """The `pip VERB ...` commands (pip, pip3, a venv's bin/pip or `python -m pip`) that the
    RUN instructions among `instructions` run, split at &&, || and ;."""
    found = []
    for ins in instructions:
        if ins.keyword != "RUN":
            continue
        script = re.sub(r"^(?:--\S+\s+)*", "", ins.args)  # --mount=... and other RUN flags
        for command in re.split(r"&&|\|\||;", script):
            words = shlex.split(command)
            for i, word in enumerate(words[:-1]):
                if PurePosixPath(word).name in {"pip", "pip3"} and words[i + 1] == verb:
                    found.append(_pip_arguments(ins.line, words[i + 2 :]))
                    break
    return found


def _pip_arguments(line: int, words: list[str]) -> PipCommand:
    options: dict[str, list[str]] = {}
    targets: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if not word.startswith("-"):
            targets.append(word)
            continue
        name, equals, value = word.partition("=")
        if word.startswith("-r") and not word.startswith("--") and len(word) > 2:
            name, value = "-r", word[2:]  # -rFILE
        elif not equals and name in PIP_OPTIONS_WITH_VALUES:
            assert index < len(words), f"Dockerfile line {line}: {name} needs a value"
            value = words[index]
            index += 1
        options.setdefault({"--requirement": "-r"}.get(name, name), []).append(value)
    return PipCommand(line, options, targets)


def copy_operands(ins: Instruction) -> tuple[dict[str, str], list[str], str]:
    """(flags, sources, destination) of a COPY or ADD."""
    flags: dict[str, str] = {}
    rest = ins.args
    while rest.startswith("--"):
        flag, _, rest = rest.partition(" ")
        name, _, value = flag[2:].partition("=")
        flags[name] = value
        rest = rest.strip()
    paths = json.loads(rest) if rest.startswith("[") else shlex.split(rest)
    assert len(paths) >= 2, f"Dockerfile line {ins.line}: {ins.keyword} needs source and dest"
    return flags, paths[:-1], paths[-1]


def env_of(instructions: list[Instruction]) -> dict[str, str]:
    """The variables the ENV instructions set (values as written, $VARS not expanded)."""
    env: dict[str, str] = {}
    for ins in instructions:
        tokens = shlex.split(ins.args)
        if "=" not in tokens[0]:  # the old form: ENV NAME value with spaces
            env[tokens[0]] = ins.args.split(None, 1)[1]
            continue
        for token in tokens:
            name, sep, value = token.partition("=")
            assert sep, f"Dockerfile line {ins.line}: {token!r} is not NAME=value"
            env[name] = value
    return env


def image_env() -> dict[str, str]:
    return env_of(final_stage("ENV"))


def ignored_by_git(relative: str) -> bool:
    """Whether .gitignore excludes the path (the simple patterns this project uses)."""
    parts = PurePosixPath(relative).parts
    for line in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines():
        pattern = line.strip().rstrip("/")
        if not pattern or pattern.startswith(("#", "!")):
            continue
        if "/" in pattern:
            if relative == pattern or relative.startswith(pattern + "/"):
                return True
        elif any(fnmatch.fnmatch(part, pattern) for part in parts):
            return True
    return False


def repository_file_in_image(image_path: str) -> Path | None:
    """The repository file that a COPY from the build context puts at `image_path`."""
    target = PurePosixPath(image_path)
    for ins in final_stage("COPY"):
        flags, sources, dest = copy_operands(ins)
        if "from" in flags or not dest.startswith("/"):
            continue
        for source in sources:
            src = ROOT / source
            if src.is_dir():
                if target.is_relative_to(dest):
                    candidate = src / target.relative_to(dest)
                    if candidate.is_file():
                        return candidate
            else:
                copied_to = PurePosixPath(dest)
                if target == (copied_to / src.name if dest.endswith("/") else copied_to):
                    return src
    return None


# --- reading compose.yaml ---------------------------------------------------------------------


class YamlSubsetError(ValueError):
    """compose.yaml uses YAML this test's parser does not know; extend the parser."""


def _strip_comment(line: str) -> str:
    quote = None
    for i, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i]
    return line


def _scalar(text: str, line: int) -> Any:
    if text[0] in "&*|>{!%@`":
        raise YamlSubsetError(
            f"line {line}: {text!r}: anchors, aliases, tags, block or flow "
            "mappings are outside the supported subset"
        )
    if text.startswith(("[", '"')):
        try:
            value = json.loads(text)  # flow sequences and "strings" written as JSON
        except json.JSONDecodeError:
            raise YamlSubsetError(f"line {line}: {text!r}: write it as JSON") from None
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            raise YamlSubsetError(f"line {line}: {text!r}: quote every item")
        return value
    if text.startswith("'"):
        if len(text) < 2 or not text.endswith("'"):
            raise YamlSubsetError(f"line {line}: {text!r}: unterminated quote")
        return text[1:-1].replace("''", "'")
    if ": " in text:
        raise YamlSubsetError(f"line {line}: {text!r}: quote a plain scalar holding ': '")
    return text  # plain scalars stay strings; the tests convert numbers themselves


_KEY = re.compile(r"(?P<key>[^\s:\"'#\[\]{},&*!|>%@`-][^\s:\"'#]*):(?:\s+(?P<rest>.*))?")
_BLOCK_SCALAR = {"|", "|-", ">", ">-"}


@dataclasses.dataclass(frozen=True)
class _Line:
    number: int
    indent: int
    content: str
    block: str | None = None  # the text of a `key: |` block scalar that starts here


def _block_scalar(style: str, raw: list[str]) -> str:
    """The value of a literal (|) or folded (>) block scalar, clipped or stripped (-)."""
    lines = [line.rstrip() for line in raw]
    while lines and not lines[-1]:
        lines.pop()
    indent = min((len(line) - len(line.lstrip(" ")) for line in lines if line), default=0)
    lines = [line[indent:] for line in lines]
    if style[0] == "|":
        text = "\n".join(lines)
    else:  # folded: lines of a paragraph joined by spaces, paragraphs by a newline
        text = "\n".join(" ".join(p.split("\n")) for p in "\n".join(lines).split("\n\n"))
    return text if style.endswith("-") else text + "\n"


def _lines(text: str) -> list[_Line]:
    """The document's lines without comments and blank lines. A `- key: value` item becomes
    a bare `-` and its mapping's first line at the key's column; a block scalar's lines are
    taken as they are (comments included) into the line that starts it."""
    raw_lines = text.splitlines()
    lines: list[_Line] = []
    index = 0
    while index < len(raw_lines):
        number, raw = index + 1, raw_lines[index]
        index += 1
        content = _strip_comment(raw).rstrip()
        if not content.strip():
            continue
        indent = len(content) - len(content.lstrip(" "))
        if content[indent] == "\t":
            raise YamlSubsetError(f"line {number}: tab in indentation")
        content = content.strip()
        if content.startswith("- ") and _KEY.fullmatch(content[2:].strip()):
            lines.append(_Line(number, indent, "-"))
            rest = content[2:]
            indent += 2 + len(rest) - len(rest.lstrip(" "))
            content = rest.strip()
        match = _KEY.fullmatch(content)
        if match and match["rest"] in _BLOCK_SCALAR:
            start = index
            while index < len(raw_lines) and (
                not raw_lines[index].strip()
                or len(raw_lines[index]) - len(raw_lines[index].lstrip(" ")) > indent
            ):
                index += 1
            block = _block_scalar(match["rest"], raw_lines[start:index])
            lines.append(_Line(number, indent, content, block))
        else:
            lines.append(_Line(number, indent, content))
    return lines


def parse_yaml_subset(text: str) -> Any:
    """Block mappings and sequences (of scalars or of mappings), scalars, literal and folded
    block scalars, JSON-style flow sequences: the YAML of compose.yaml and of the Prometheus
    and Grafana files. Raises YamlSubsetError on anything else rather than misread it."""
    lines = _lines(text)

    def is_item(i: int, indent: int) -> bool:
        line = lines[i]
        return line.indent == indent and (line.content == "-" or line.content.startswith("- "))

    def block(i: int, indent: int) -> tuple[Any, int]:
        if is_item(i, indent):
            items: list[Any] = []
            while i < len(lines) and is_item(i, indent):
                line = lines[i]
                rest = line.content[1:].strip()
                i += 1
                if rest:
                    if rest.startswith("-") or _KEY.fullmatch(rest):
                        raise YamlSubsetError(f"line {line.number}: nested items")
                    items.append(_scalar(rest, line.number))
                elif i < len(lines) and lines[i].indent > indent:
                    item, i = block(i, lines[i].indent)
                    if not isinstance(item, dict):
                        raise YamlSubsetError(f"line {line.number}: a sequence in a sequence")
                    items.append(item)
                else:
                    raise YamlSubsetError(f"line {line.number}: empty item")
            value: Any = items
        else:
            mapping: dict[str, Any] = {}
            while i < len(lines) and lines[i].indent == indent and not is_item(i, indent):
                line = lines[i]
                match = _KEY.fullmatch(line.content)
                if not match:
                    raise YamlSubsetError(
                        f"line {line.number}: {line.content!r} is not 'key: value'"
                    )
                key, rest = match["key"], match["rest"]
                if key in mapping:
                    raise YamlSubsetError(f"line {line.number}: duplicate key {key!r}")
                i += 1
                if line.block is not None:
                    mapping[key] = line.block
                elif rest:
                    mapping[key] = _scalar(rest, line.number)
                elif i < len(lines) and (lines[i].indent > indent or is_item(i, indent)):
                    mapping[key], i = block(i, lines[i].indent)
                else:
                    mapping[key] = None
            value = mapping
        if i < len(lines) and lines[i].indent > indent:
            raise YamlSubsetError(f"line {lines[i].number}: unexpected indentation")
        return value, i

    if not lines:
        raise YamlSubsetError("empty document")
    document, end = block(0, lines[0].indent)
    if end != len(lines):
        raise YamlSubsetError(f"line {lines[end].number}: unexpected indentation")
    return document


def compose() -> dict[str, Any]:
    document = parse_yaml_subset(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    assert isinstance(document.get("services"), dict)
    return document


def service(name: str) -> dict[str, Any]:
    services = compose()["services"]
    assert name in services, f"compose.yaml has no service {name!r}"
    found: dict[str, Any] = services[name]
    assert isinstance(found, dict)
    return found


def interpolate(value: str) -> str:
    """Compose's ${VAR} and ${VAR:-default}, with no variables set (a fresh checkout)."""
    return re.sub(r"\$\{\w+(?::?-(?P<default>[^}]*))?\}", lambda m: m["default"] or "", value)


def environment(svc: dict[str, Any]) -> dict[str, str]:
    env = svc.get("environment") or {}
    if isinstance(env, list):  # the `- NAME=value` form
        env = dict(item.partition("=")[::2] for item in env)
    return {name: interpolate(value or "") for name, value in env.items()}


def walk(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every scalar of a parsed document with the keys that lead to it."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, (*path, key))
    elif isinstance(node, list):
        for value in node:
            yield from walk(value, path)
    elif node is not None:
        yield path, node


# --- the project's side -----------------------------------------------------------------------


def pyproject() -> dict[str, Any]:
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))


def locked(path: Path) -> dict[str, tuple[Version, list[str]]]:
    """A lock file's pins: canonical name -> (version, sha256 hashes), with the checks that
    make it a lock: every requirement is `name==version` and carries its hashes."""
    pins: dict[str, tuple[Version, list[str]]] = {}
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))  # continuation lines
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        # An option such as --index-url would override the pip configuration of the machine
        # that installs (a mirror, a local index): the hashes alone decide what is accepted.
        assert not line.startswith("-"), f"{path.name}: {line!r}: requirements only"
        spec, *hashes = re.split(r"\s+--hash=", line)
        requirement = Requirement(spec)
        specifiers = list(requirement.specifier)
        assert len(specifiers) == 1, f"{path.name}: {spec!r} is not pinned to one version"
        assert specifiers[0].operator == "==", f"{path.name}: {spec!r} is not pinned with =="
        assert hashes, f"{path.name}: {requirement.name} has no --hash"
        assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), spec
        name = canonicalize_name(requirement.name)
        assert name not in pins, f"{path.name}: {name} is pinned twice"
        pins[name] = (Version(specifiers[0].version), hashes)
    assert pins, f"{path.name} pins nothing"
    return pins


def settings_sections() -> dict[str, type[BaseModel]]:
    """The sections of contactd.toml that are a model of their own (daemon, database, leader):
    the ones CONTACTD_<SECTION>__<KEY> may override from a container's environment."""
    sections = {}
    for name, field in settings.FileConfig.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            sections[name] = annotation
    return sections


def image_settings() -> settings.Settings:
    """The settings the image's contactd starts with: its config file, its environment."""
    config = repository_file_in_image(image_env()["CONTACTD_CONFIG"])
    assert config is not None
    env = {k: v for k, v in image_env().items() if k.startswith("CONTACTD_")}
    return settings.load(config, environ=env)


def parses(argv: list[str]) -> Any:
    """contactd's own command-line parser applied to argv; fails the test if it refuses."""
    try:
        return cli.build_parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"`contactd {' '.join(argv)}` is not a valid command line")


# --- the Dockerfile ---------------------------------------------------------------------------


def test_every_copy_source_exists_in_the_repository() -> None:
    checked = 0
    for keyword in ("COPY", "ADD"):
        for ins in all_instructions(keyword):
            flags, sources, _ = copy_operands(ins)
            if "from" in flags:
                continue  # from another stage or image, not from the build context
            for source in sources:
                relative = source.lstrip("/").rstrip("/") or "."
                assert ".." not in PurePosixPath(relative).parts, f"line {ins.line}: {source}"
                matches = (
                    list(ROOT.glob(relative))
                    if any(c in relative for c in "*?[")
                    else [p for p in [ROOT / relative] if p.exists()]
                )
                assert matches, f"Dockerfile line {ins.line}: {source} is not in the repository"
                assert not ignored_by_git(relative), f"line {ins.line}: {source} is git-ignored"
                checked += 1
    assert checked, "the Dockerfile copies nothing from the build context"


def test_the_wheel_stage_copies_everything_the_wheel_is_made_of() -> None:
    stage = next((s for s in dockerfile_stages() if any("pip wheel" in i.args for i in s)), None)
    assert stage is not None, "no stage builds the wheel with `pip wheel`"
    copied = {
        src.rstrip("/") for ins in stage if ins.keyword == "COPY" for src in copy_operands(ins)[1]
    }
    project = pyproject()
    packages = [
        p.rstrip("*.") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]
    ]
    readme = project["project"].get("readme", [])
    readme = [readme] if isinstance(readme, str) else [readme["file"]] if "file" in readme else []
    wanted = {"pyproject.toml", *packages, *readme}
    assert wanted <= copied, f"not copied: {sorted(wanted - copied)}"


def test_the_image_installs_the_locked_dependencies_with_their_hashes() -> None:
    """The final stage copies requirements/runtime.txt and installs it in pip's hash-checking
    mode, then contactd's own wheel with --no-deps: nothing is resolved outside the lock, so
    every library in the image is the lock's version, file for file."""
    installs = pip_commands(dockerfile_stages()[-1], "install")
    from_lock = [c for c in installs if "-r" in c.options]
    assert from_lock, "the final stage installs no requirements file (pip install -r)"
    for command in from_lock:
        assert "--require-hashes" in command.options, f"line {command.line}: --require-hashes"
        for requirements in command.options["-r"]:
            source = repository_file_in_image(requirements)
            assert source == RUNTIME_LOCK, (
                f"line {command.line}: -r {requirements} is not requirements/runtime.txt "
                "copied into the final stage"
            )
        assert not command.targets, f"line {command.line}: {command.targets} are not locked"
    wheels = [c for c in installs if "-r" not in c.options]
    assert wheels, "the final stage does not install contactd's wheel"
    for command in wheels:
        assert "--no-deps" in command.options, f"line {command.line}: add --no-deps"
        for target in command.targets:
            wheel = re.fullmatch(r"\S*/contactd-[^/]*\.whl", target)
            assert wheel, f"line {command.line}: {target} is not contactd's wheel"
        assert max(c.line for c in from_lock) < command.line, "install the lock first"
    for command in pip_commands([i for s in dockerfile_stages() for i in s], "wheel"):
        assert "--no-deps" in command.options, f"line {command.line}: resolves beside the lock"


def test_the_lock_pins_every_dependency_at_or_above_the_bounds_of_pyproject() -> None:
    """requirements/runtime.txt holds every [project] dependency and requirements/dev.txt
    those and the dev extra, at versions pyproject.toml allows; the tests run the versions
    the image ships (scripts/lock makes both files)."""
    project = pyproject()["project"]
    runtime, dev = locked(RUNTIME_LOCK), locked(DEV_LOCK)
    wanted = [(runtime, Requirement(r)) for r in project["dependencies"]]
    wanted += [(dev, Requirement(r)) for r in project["optional-dependencies"]["dev"]]
    for pins, requirement in wanted:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not in the lock: run scripts/lock"
        version = pins[name][0]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"the lock pins {name}=={version}, outside {requirement}: run scripts/lock"
        )
    for pinned, (version, hashes) in runtime.items():
        assert dev.get(pinned) == (version, hashes), f"{pinned}: dev.txt differs from runtime.txt"


def test_the_image_is_multi_stage_on_a_python_the_project_supports() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2, "build the wheel in a stage of its own"
    names = set()
    minimum = re.search(r">=\s*3\.(\d+)", pyproject()["project"]["requires-python"])
    assert minimum
    for stage in stages:
        words = stage[0].args.split()
        image = next(w for w in words if not w.startswith("--"))
        if image not in names:
            match = re.fullmatch(r"python:3\.(\d+)-slim-bookworm", image)
            assert match, f"line {stage[0].line}: base image {image}"
            assert int(match[1]) >= int(minimum[1]), f"{image} is older than requires-python"
        if len(words) >= 3 and words[-2].upper() == "AS":
            names.add(words[-1])


def test_entrypoint_is_the_console_script_and_the_default_command_runs_the_daemon() -> None:
    scripts = pyproject()["project"]["scripts"]
    [entrypoint] = final_stage("ENTRYPOINT")[-1:]
    [cmd] = final_stage("CMD")[-1:]
    program, *arguments = exec_form(entrypoint)
    assert program in scripts, f"ENTRYPOINT {program!r}; console scripts: {sorted(scripts)}"
    assert scripts[program] == "contactd.cli.main:main"
    assert parses([*arguments, *exec_form(cmd)]).command == "run"


def test_the_container_runs_as_an_unprivileged_user() -> None:
    users = final_stage("USER")
    assert users, "the final stage has no USER: it would run as root"
    user = users[-1].args.split(":")[0]
    assert user not in {"root", "0"}


def test_the_config_file_named_by_contactd_config_is_copied_into_the_image() -> None:
    path = image_env().get("CONTACTD_CONFIG")
    assert path, "the image must set CONTACTD_CONFIG: the wheel carries no config/"
    source = repository_file_in_image(path)
    assert source is not None, f"no COPY puts a repository file at {path}"
    case_types = settings.FileConfig.model_fields["case_types_file"].default
    assert repository_file_in_image(str(PurePosixPath(path).parent / case_types)) is not None


def test_the_image_settings_listen_outside_and_keep_data_in_the_volume() -> None:
    loaded = image_settings()
    assert loaded.daemon.host == "0.0.0.0"  # noqa: S104  # a container must listen outside
    assert loaded.daemon.data_dir is not None
    volumes: list[str] = []
    for ins in final_stage("VOLUME"):
        volumes += json.loads(ins.args) if ins.args.startswith("[") else ins.args.split()
    assert str(loaded.daemon.data_dir) in volumes, f"data dir not in VOLUME {volumes}"


# --- CONTACTD_* variables ---------------------------------------------------------------------


def check_variable(name: str) -> str | None:
    """Why `name` is not a variable contactd reads, or None if it is."""
    if name in SPECIAL_VARIABLES:
        return None
    sections = settings_sections()
    parts = name.removeprefix(settings.ENV_PREFIX).lower().split("__")
    if len(parts) != 2:
        return "not CONTACTD_<SECTION>__<KEY>"
    section, key = parts
    if section not in sections:
        return f"no section {section!r}; these may be set: {sorted(sections)}"
    if key not in sections[section].model_fields:
        return f"no key {key!r} in [{section}]: {sorted(sections[section].model_fields)}"
    return None


@pytest.mark.parametrize("path", [DOCKERFILE, COMPOSE, README], ids=lambda p: p.name)
def test_every_contactd_variable_maps_to_a_setting(path: Path) -> None:
    names = set(CONTACTD_NAME.findall(path.read_text(encoding="utf-8")))
    assert names, f"{path.name} names no CONTACTD_* variable"
    problems = {n: why for n in sorted(names) if (why := check_variable(n))}
    assert not problems, f"{path.name}: {problems}"


def test_the_variables_set_are_the_ones_checked() -> None:
    dockerfile_text = DOCKERFILE.read_text(encoding="utf-8")
    compose_text = COMPOSE.read_text(encoding="utf-8")
    set_in_dockerfile = {n for n in env_of(all_instructions("ENV")) if n.startswith("CONTACTD_")}
    assert set_in_dockerfile <= set(CONTACTD_NAME.findall(dockerfile_text))
    assert {"CONTACTD_CONFIG", "CONTACTD_DAEMON__HOST"} <= set_in_dockerfile
    for variable in set_in_dockerfile:
        assert check_variable(variable) is None, f"Dockerfile: {variable}"
    for name, svc in compose()["services"].items():
        for variable in environment(svc):
            if variable.startswith("CONTACTD_"):
                assert variable in compose_text, name
                assert check_variable(variable) is None, f"{name}: {variable}"


def test_the_checker_refuses_unknown_variables() -> None:
    assert check_variable("CONTACTD_DAEMON__PORT") is None
    assert check_variable("CONTACTD_DAEMON__PROT")
    assert check_variable("CONTACTD_DEAMON__PORT")
    assert check_variable("CONTACTD_DAEMON_PORT")
    assert check_variable("CONTACTD_QUEUES__VISA__PRIORITY")
    assert check_variable("CONTACTD_TEST_DATABASE_URL")


# --- ports and health -------------------------------------------------------------------------


def test_expose_and_healthcheck_use_the_configured_port() -> None:
    port = image_settings().daemon.port
    assert port == settings.DaemonConfig.model_fields["port"].default
    exposed = {int(p.split("/")[0]) for i in final_stage("EXPOSE") for p in i.args.split()}
    assert exposed == {port}

    [check] = final_stage("HEALTHCHECK")[-1:]
    command = exec_form(check)
    text = " ".join(command)
    assert not {"curl", "wget"} & set(re.findall(r"\w+", text)), "the slim image has neither"
    assert command[0] in {"python", "python3", "/opt/contactd/bin/python"}
    urls = re.findall(r"http://(?:127\.0\.0\.1|localhost):(\d+)(/[\w/-]*)", text)
    assert urls, f"no http://127.0.0.1:PORT/ URL in {text!r}"
    routes = {r.canonical for r in create_app(image_settings()).router.resources()}
    for url_port, url_path in urls:
        assert int(url_port) == port
        assert url_path == "/ready", "readiness is /ready: the database answers, migrated"
        assert url_path in routes


def test_compose_publishes_the_configured_port_for_every_replica() -> None:
    port = image_settings().daemon.port
    svc = service("contactd")
    replicas = int(svc.get("deploy", {}).get("replicas", 1))
    for mapping in svc.get("ports") or []:
        assert isinstance(mapping, str), "use the short 'host:container' syntax"
        host, _, container = mapping.rpartition(":")
        assert int(container.split("/")[0]) == port, mapping
        host_ports = host.rpartition(":")[2]
        if host_ports:
            first, _, last = host_ports.partition("-")
            count = int(last or first) - int(first) + 1
            assert count >= replicas, f"{mapping}: {count} host port(s) for {replicas} replicas"


# --- compose.yaml -----------------------------------------------------------------------------


def test_the_contactd_services_build_this_dockerfile_from_the_repository_root() -> None:
    builders = {n: s for n, s in compose()["services"].items() if "build" in s}
    assert "contactd" in builders
    for name, svc in builders.items():
        build = svc["build"]
        assert isinstance(build, dict), f"{name}: give build a context and a dockerfile"
        context = (DOCKER / build["context"]).resolve()
        assert context == ROOT, f"{name}: build context {context}, not the repository root"
        assert (context / build.get("dockerfile", "Dockerfile")).resolve() == DOCKERFILE
    images = {svc.get("image") for svc in builders.values()}
    assert len(images) == 1, f"services building the Dockerfile tag it differently: {images}"


def test_compose_has_no_host_specific_paths() -> None:
    document = compose()
    named_volumes = set(document.get("volumes") or {})
    host_path_keys = {"context", "dockerfile", "env_file", "file"}

    def portable(path: str) -> bool:
        absolute = path.startswith(("/", "~", "\\")) or re.match(r"^[A-Za-z]:[\\/]", path)
        return not absolute and (DOCKER / path).resolve().is_relative_to(ROOT)

    for keys, value in walk(document):
        where = ".".join(keys)
        for local in {str(ROOT), str(Path.home()), "/home/", "/Users/", "C:\\"} - {"/"}:
            assert local not in value, f"{where}: {value!r} names a path of this machine"
        if keys and keys[-1] in host_path_keys:
            assert portable(value), f"{where}: {value!r} is not relative to the repository"
    for name, svc in document["services"].items():
        for volume in svc.get("volumes") or []:
            assert isinstance(volume, str), f"{name}: use the short volume syntax"
            # A ${VAR:-default} source (the operator's own directory) defaults to a portable one.
            source = interpolate(volume).split(":")[0]
            if source.startswith("."):
                assert portable(source), f"{name}: {volume}"
            else:
                assert source in named_volumes, f"{name}: {volume}: not a declared named volume"


def test_postgres_is_version_18_with_a_health_check_and_a_named_volume() -> None:
    pg = service("postgres")
    assert pg["image"].startswith("postgres:18")
    assert "pg_isready" in pg["healthcheck"]["test"]
    mounts = {v.split(":")[1] for v in pg["volumes"]}
    # From 18 on, the official image keeps its data in /var/lib/postgresql/<major>/docker.
    assert "/var/lib/postgresql" in mounts
    password = pg["environment"]["POSTGRES_PASSWORD"]
    assert re.fullmatch(r"\$\{POSTGRES_PASSWORD:-[^}]+\}", password), "from the environment"


def test_contactd_runs_several_instances_on_the_postgres_service() -> None:
    svc = service("contactd")
    pg_env = environment(service("postgres"))
    assert int(svc["deploy"]["replicas"]) == 2
    assert svc["depends_on"]["postgres"]["condition"] == "service_healthy"
    url = urlsplit(environment(svc)["CONTACTD_DATABASE_URL"])
    assert url.scheme in {"postgres", "postgresql"}
    assert url.hostname == "postgres"
    assert url.port in {None, 5432}
    assert url.username == pg_env["POSTGRES_USER"]
    assert url.password == pg_env["POSTGRES_PASSWORD"]
    assert url.path == f"/{pg_env['POSTGRES_DB']}"


def test_the_admin_service_adds_an_admin_to_the_same_database_on_demand() -> None:
    admin = service("contactd-admin")
    assert admin.get("profiles"), "a profile keeps `up` from running it"
    assert admin["depends_on"]["postgres"]["condition"] == "service_healthy"
    url = environment(admin)["CONTACTD_DATABASE_URL"]
    assert url == environment(service("contactd"))["CONTACTD_DATABASE_URL"]
    command = admin["command"]
    assert isinstance(command, list), "write the command as a list"
    args = parses(command)
    assert (args.command, args.staff_command, args.role) == ("staff", "add", "admin")


@pytest.mark.parametrize(
    "text",
    [
        "a: &x 1\nb: *x\n",
        "a: |+\n  text\n",
        "a: |2\n  text\n",
        "a: {b: 1}\n",
        "a:\n  - - b\n",
        "a:\n  -\n    - b\n",
        "a:\n  - b: 1\n    c\n",
        "a: 1\na: 2\n",
        "a:\n  b: 1\n    c: 2\n",
        "a: [1, 2]\n",
    ],
)
def test_the_yaml_reader_refuses_what_it_does_not_understand(text: str) -> None:
    with pytest.raises(YamlSubsetError):
        parse_yaml_subset(text)


def test_the_yaml_reader_reads_the_subset() -> None:
    text = 'a:\n  b: "x: y"  # note\n  c:\n  - p:/q\n  - "r"\nd: ["e", "f"]\ng:\n'
    assert parse_yaml_subset(text) == {
        "a": {"b": "x: y", "c": ["p:/q", "r"]},
        "d": ["e", "f"],
        "g": None,
    }


def test_the_yaml_reader_reads_sequences_of_mappings_and_block_scalars() -> None:
    text = (
        "rules:\n"
        "  - record: r\n"
        "    expr: |\n"
        "      sum(x)  # kept: PromQL has comments too\n"
        "\n"
        "        or y\n"
        "  -   alert: A\n"
        "      annotations:\n"
        "        text: >-\n"
        "          one\n"
        "          two\n"
        "after: 1\n"
    )
    assert parse_yaml_subset(text) == {
        "rules": [
            {"record": "r", "expr": "sum(x)  # kept: PromQL has comments too\n\n  or y\n"},
            {"alert": "A", "annotations": {"text": "one two"}},
        ],
        "after": "1",
    }


# --- Prometheus, Alertmanager and Grafana in compose.yaml -------------------------------------


def mounts(svc: dict[str, Any]) -> dict[str, Path]:
    """The bind mounts of a service: container path -> the repository path mounted there
    (with no variables set, as in a fresh checkout)."""
    found = {}
    for volume in svc.get("volumes") or []:
        source, target = interpolate(volume).split(":")[:2]
        if source.startswith("."):
            found[target] = (DOCKER / source).resolve()
    return found


def in_container(svc: dict[str, Any], container_path: str) -> Path | None:
    """The repository file a service sees at `container_path`, through its bind mounts."""
    for target, source in mounts(svc).items():
        if PurePosixPath(container_path).is_relative_to(target):
            return source / PurePosixPath(container_path).relative_to(target)
    return None


def docker_yaml(relative: str) -> Any:
    return parse_yaml_subset((DOCKER / relative).read_text(encoding="utf-8"))


def flags(svc: dict[str, Any]) -> dict[str, str]:
    """A service's `--name=value` command-line flags, with no variables set."""
    return {
        name: interpolate(value)
        for name, value in (arg.removeprefix("--").partition("=")[::2] for arg in svc["command"])
    }


def container_ports(name: str) -> set[str]:
    """The container side of a service's published ports."""
    return {mapping.rpartition(":")[2] for mapping in service(name).get("ports") or []}


MONITORING_IMAGES = {
    "prometheus": "prom/prometheus:",
    "alertmanager": "prom/alertmanager:",
    "grafana": "grafana/grafana:",
}


@pytest.mark.parametrize("name", list(MONITORING_IMAGES))
def test_the_monitoring_services_mount_directories_of_the_repository(name: str) -> None:
    svc = service(name)
    image = MONITORING_IMAGES[name]
    assert svc["image"].startswith(image), "the project's official image, with a version tag"
    assert mounts(svc), f"{name} mounts nothing from docker/"
    for target, source in mounts(svc).items():
        assert source.is_dir(), f"{name}: {source} (mounted at {target}) does not exist"
        assert source.is_relative_to(DOCKER / name), f"{name} mounts {source}"
    for volume in svc["volumes"]:
        if interpolate(volume).split(":")[0].startswith("."):
            assert volume.endswith(":ro"), f"{name}: mount {volume} read-only"


def test_every_published_port_is_on_loopback_only() -> None:
    for name, svc in compose()["services"].items():
        for mapping in svc.get("ports") or []:
            assert mapping.startswith("127.0.0.1:"), f"{name}: {mapping} is reachable from outside"


@pytest.mark.parametrize(
    ("name", "storage"), [("prometheus", "storage.tsdb.path"), ("alertmanager", "storage.path")]
)
def test_the_monitoring_services_read_their_config_from_the_mount_and_keep_data_in_a_volume(
    name: str, storage: str
) -> None:
    svc = service(name)
    config = in_container(svc, flags(svc)["config.file"])
    assert config is not None, f"{name}: --config.file {flags(svc)['config.file']} is not mounted"
    assert config.is_file(), f"{name}: --config.file {flags(svc)['config.file']}"
    data = flags(svc)[storage]
    assert in_container(svc, data) is None, f"{name}: --{storage} in a volume, not in git"
    named = {v.split(":")[0] for v in svc["volumes"] if v.split(":")[1] == data}
    assert named, f"{name}: --{storage} {data} is not a volume"
    assert named <= set(compose().get("volumes") or {}), f"{name}: --{storage} {data}"


def test_prometheus_reads_every_rule_file_from_the_mount() -> None:
    svc = service("prometheus")
    config = in_container(svc, flags(svc)["config.file"])
    assert config is not None
    rule_files = parse_yaml_subset(config.read_text(encoding="utf-8"))["rule_files"]
    found = {p for pattern in rule_files for p in config.parent.glob(pattern)}
    assert found == set((DOCKER / "prometheus" / "rules").glob("*.yml"))


def test_prometheus_scrapes_every_contactd_replica_on_the_daemon_port() -> None:
    config = docker_yaml("prometheus/prometheus.yml")
    [job] = [j for j in config["scrape_configs"] if j["job_name"] == "contactd"]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    [sd] = job["dns_sd_configs"]
    assert sd["type"] == "A", "one A record per replica; SRV needs a DNS server that has them"
    assert int(sd["port"]) == image_settings().daemon.port
    assert set(sd["names"]) == {"contactd"}, "the compose service's name"
    assert "contactd" in compose()["services"]


def test_prometheus_sends_its_alerts_to_the_alertmanager_service() -> None:
    config = docker_yaml("prometheus/prometheus.yml")
    [manager] = config["alerting"]["alertmanagers"]
    [static] = manager["static_configs"]
    [target] = static["targets"]
    host, _, port = target.rpartition(":")
    assert host == "alertmanager"
    assert host in compose()["services"]
    assert port in container_ports("alertmanager"), "Alertmanager's own port, 9093"


def test_alertmanager_reads_its_templates_from_the_mount_and_runs_alone() -> None:
    svc = service("alertmanager")
    config = in_container(svc, flags(svc)["config.file"])
    assert config is not None
    templates = parse_yaml_subset(config.read_text(encoding="utf-8"))["templates"]
    found = {p for pattern in templates for p in config.parent.glob(pattern)}
    assert found, f"no template file matches {templates}"
    assert found == set((DOCKER / "alertmanager" / "templates").glob("*.tmpl"))
    # A single Alertmanager: an empty cluster address switches gossip off.
    assert flags(svc)["cluster.listen-address"] == ""
    # The mails' links lead, by default, to the port published on this machine.
    [published] = svc["ports"]
    assert flags(svc)["web.external-url"] == "http://" + published.rpartition(":")[0]


def test_grafana_provisions_the_prometheus_service_and_the_mounted_dashboards() -> None:
    svc = service("grafana")
    datasources = in_container(svc, "/etc/grafana/provisioning/datasources")
    providers = in_container(svc, "/etc/grafana/provisioning/dashboards")
    assert datasources is not None
    assert datasources.is_dir()
    assert providers is not None
    assert providers.is_dir()
    [source] = docker_yaml("grafana/provisioning/datasources/prometheus.yml")["datasources"]
    url = urlsplit(source["url"])
    assert url.hostname == "prometheus"
    assert url.hostname in compose()["services"]
    assert str(url.port) in container_ports("prometheus"), "Prometheus's own port, 9090"
    [provider] = docker_yaml("grafana/provisioning/dashboards/contactd.yml")["providers"]
    dashboards = in_container(svc, provider["options"]["path"])
    assert dashboards is not None, f"nothing mounted at {provider['options']['path']}"
    assert sorted(p.name for p in dashboards.glob("*.json")) == [
        "overview.json",
        "queue.json",
        "wallboard.json",
    ]
    home = environment(svc).get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    assert home is None or (in_container(svc, home) or Path()).is_file()
