"""Read ``clawgate.json``: JSON5 → secret check → ``${ENV}`` substitution → typed settings.

Every problem is reported as ``file:line:column: key.path: what was expected, what was found``
so that a person can go straight to it. Unknown keys are warnings, not errors.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyjson5
from pydantic import BaseModel, ValidationError

from clawgate.config._locate import KeyPath, locate_keys, nearest, offset_to_position
from clawgate.config._schema import Settings
from clawgate.config._secrets import find_secret, vault_command
from clawgate.errors import ClawgateError

# Keys OpenClaw writes that mean nothing to clawgate (docs/configuration.md): accepted with a
# warning.
_OPENCLAW_KEYS = frozenset({"plugins", "agentRuntime"})
_ENV_REF = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NEAR = re.compile(r"\s*(?:starting )?near (\d+)")
_CODEPOINT = re.compile(r"U\+([0-9A-Fa-f]{4,6})")  # how pyjson5 names a character
_BLANKS = {"\n": "a line break", "\r": "a line break", "\t": "a tab", " ": "a space"}
# A clawgate config is a few KiB. Parsing grows a file ~50-fold in memory (a 50 MB string
# in one key took the process to 2.8 GB), so a bigger one is refused before it is read.
MAX_CONFIG_BYTES = 1024 * 1024


class ConfigError(ClawgateError):
    """The config file cannot be used; nothing was changed."""

    code = "bad_config"
    exit_code = 78  # EX_CONFIG, so a service manager can tell "fix the file" from a crash


@dataclass(frozen=True)
class ConfigWarning:
    where: str  # "file:line:col"
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.path}: {self.message}"


@dataclass(frozen=True)
class LoadedConfig:
    settings: Settings
    source: Path | None  # None: no file, built-in defaults
    warnings: tuple[ConfigWarning, ...] = field(default=())


def load_config(config_file: Path, env: Mapping[str, str]) -> LoadedConfig:
    """Load ``config_file``, or the built-in defaults when it does not exist."""
    text = read_config_text(config_file)
    if text is None:
        return LoadedConfig(settings=Settings(), source=None)
    return parse_config(text, source=config_file, env=env)


def read_config_text(config_file: Path) -> str | None:
    """The file's text, None when there is no file; `ConfigError` when it cannot be read or
    is over `MAX_CONFIG_BYTES` (checked on the open file, and the read is bounded too: a
    file that grows meanwhile, or a device, is never read whole)."""
    try:
        with config_file.open(encoding="utf-8") as handle:
            if os.fstat(handle.fileno()).st_size > MAX_CONFIG_BYTES:
                raise _too_big(config_file)
            text = handle.read(MAX_CONFIG_BYTES + 1)  # characters: never more than bytes
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read {config_file}: {exc.__class__.__name__}",
            fix=f"check that {config_file} is a readable UTF-8 text file",
        ) from None
    if len(text) > MAX_CONFIG_BYTES:
        raise _too_big(config_file)
    return text


def _too_big(source: Path | str) -> ConfigError:
    return ConfigError(
        f"{source} is larger than 1 MiB ({MAX_CONFIG_BYTES} bytes), the most clawgate reads "
        "as a config",
        fix=f"remove what does not belong in {source} (a clawgate config is a few KiB)",
    )


def parse_config(text: str, *, source: Path, env: Mapping[str, str]) -> LoadedConfig:
    if len(text) > MAX_CONFIG_BYTES:  # text from elsewhere than `read_config_text`
        raise _too_big(source)
    doc = _Document(text, str(source))
    raw = doc.decode()
    for path, value in _walk(raw):
        kind = find_secret(path, value)
        if kind is not None:
            raise ConfigError(
                f"{doc.where(path)}: {dotted(path)} holds {kind}; the config file is not "
                "encrypted, so clawgate does not read secrets from it",
                fix=f"delete the value and store it in the vault: {vault_command(path, kind)}",
            )
    data = _substitute(raw, (), env, doc)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        problems = [doc.describe(error, data) for error in exc.errors()]
        raise ConfigError(
            "invalid config:\n  " + "\n  ".join(problems),
            fix=f"edit {source} at the places named above",
        ) from None
    warnings = tuple(_unknown_keys(settings, (), doc))
    return LoadedConfig(settings=settings, source=source, warnings=warnings)


def _character(char: str) -> str:
    """A character as a person reads it: 'g', a line break, U+0001."""
    if not char:
        return "the end of the file"
    if char in _BLANKS:
        return _BLANKS[char]
    return repr(char) if char.isprintable() else f"U+{ord(char):04X}"


def _pointed(text: str, line: int, column: int) -> str:
    """The line of ``text`` with a caret under ``column`` (both from 1), as compilers show."""
    lines = text.splitlines() or [""]
    shown = lines[min(line, len(lines)) - 1].expandtabs(1)[:120]
    gutter = f"  {line} | "
    return f"{gutter}{shown}\n{' ' * (len(gutter) - 2)}| {' ' * (column - 1)}^"


class _Document:
    """The text being loaded, with lazily computed key positions for messages."""

    def __init__(self, text: str, name: str) -> None:
        self.text = text
        self.name = name
        self._positions: dict[KeyPath, tuple[int, int]] | None = None

    def decode(self) -> dict[str, Any]:
        try:
            raw = pyjson5.decode(self.text)
        except pyjson5.Json5EOF as exc:
            if exc.result is None:  # nothing but blanks and comments: all defaults
                return {}
            raise self._syntax_error(exc) from None
        except pyjson5.Json5Exception as exc:
            raise self._syntax_error(exc) from None
        if not isinstance(raw, dict):
            raise ConfigError(
                f"{self.name}:1:1: the config must be an object {{ … }}, "
                f"found {type(raw).__name__}",
                fix="wrap the settings in { } (see `clawgate setup` for an example)",
            )
        return raw

    def _syntax_error(self, exc: Exception) -> ConfigError:
        reason = str(exc.args[0]) if exc.args else "unreadable"
        near = _NEAR.search(reason)
        # pyjson5 counts "near" from 1.
        offset = max(int(near.group(1)) - 1, 0) if near else 0
        if isinstance(exc, pyjson5.Json5ExtraData):
            # pyjson5 points at the end of the value; what is extra starts after the blanks.
            rest = self.text[offset + 1 :]
            offset += 1 + len(rest) - len(rest.lstrip())
            found = self.text[offset] if offset < len(self.text) else ""
            reason = f"unexpected {_character(found)} after the end of the config"
        else:
            reason = re.sub(r"b'(\w+)'", r"\1", _NEAR.sub("", reason))
            reason = _CODEPOINT.sub(lambda m: _character(chr(int(m.group(1), 16))), reason)
            reason = reason.replace("JSON5Value", "a value")
        line, column = offset_to_position(self.text, offset)
        before = self.text[:offset].rpartition("\n")[2]
        if reason.startswith("Expected comma") and line > 1 and not before.strip():
            reason += f" (a comma missing at the end of line {line - 1}?)"
        return ConfigError(
            f"{self.name}:{line}:{column}: not valid JSON5: {reason}\n"
            + _pointed(self.text, line, column),
            fix="fix the syntax at that place (JSON5 allows comments, trailing commas "
            "and unquoted keys)",
        )

    def where(self, path: KeyPath) -> str:
        if self._positions is None:
            self._positions = locate_keys(self.text)
        line, column = nearest(self._positions, path) or (1, 1)
        return f"{self.name}:{line}:{column}"

    def describe(self, error: Any, data: object) -> str:
        path = _input_path(tuple(error["loc"]), data)
        message = str(error["msg"])
        if error["type"] == "missing":
            expected, found = "a value (it is required)", "nothing"
        else:
            expected = message.removeprefix("Input should be ").removeprefix("Value error, ")
            found = _preview(error.get("input"))
        return f"{self.where(path)}: {dotted(path)}: expected {expected}, found {found}"


def dotted(path: KeyPath) -> str:
    """``agents.defaults.model.fallbacks[1]``, ``auth.order["openai-codex"]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out or "(top level)"


def _walk(value: object, path: KeyPath = ()) -> Iterator[tuple[KeyPath, object]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*path, index))


def _substitute(value: Any, path: KeyPath, env: Mapping[str, str], doc: _Document) -> Any:
    """Replace ``${NAME}`` in strings with the environment's value; ``$${NAME}`` escapes."""
    if isinstance(value, dict):
        return {k: _substitute(v, (*path, k), env, doc) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, (*path, i), env, doc) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        escaped, name = match.groups()
        if escaped:
            return "${" + name + "}"
        if name not in env:
            raise ConfigError(
                f"{doc.where(path)}: {dotted(path)} refers to ${{{name}}}, which is not set",
                fix=f"set {name} in the environment clawgate runs in, or write the value in place",
            )
        return env[name]

    return _ENV_REF.sub(replace, value)


def _input_path(loc: KeyPath, data: object) -> KeyPath:
    """The part of a pydantic error location that names keys of the input.

    Pydantic appends union members ("int", "str") and validator names to ``loc``; those
    are not places in the file.
    """
    path: list[str | int] = []
    node = data
    for part in loc:
        found = isinstance(node, dict) and part in node
        found = found or (isinstance(node, list) and isinstance(part, int) and part < len(node))
        if found:
            node = node[part]  # type: ignore[index]
        elif isinstance(node, dict) and isinstance(part, str):
            path.append(part)  # a missing required key: name it, then stop
            break
        else:
            break
        path.append(part)
    return tuple(path)


def _preview(value: object) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "…"


def _unknown_keys(model: BaseModel, path: KeyPath, doc: _Document) -> Iterator[ConfigWarning]:
    fields = type(model).model_fields
    for key in model.model_extra or {}:
        here = (*path, key)
        if key in _OPENCLAW_KEYS:
            message = (
                "an OpenClaw setting that clawgate does not use (ignored); "
                "`clawgate doctor --fix` migrates it"
            )
        else:
            known = [info.alias or name for name, info in fields.items()]
            import difflib  # a warning's hint only: most configs have no unknown key

            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
            message = f"unknown key (ignored); {hint}"
        yield ConfigWarning(where=doc.where(here), path=dotted(here), message=message)
    for name, info in fields.items():
        yield from _unknown_in(getattr(model, name), (*path, info.alias or name), doc)


def _unknown_in(value: object, path: KeyPath, doc: _Document) -> Iterator[ConfigWarning]:
    if isinstance(value, BaseModel):
        yield from _unknown_keys(value, path, doc)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _unknown_in(item, (*path, key), doc)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unknown_in(item, (*path, index), doc)
