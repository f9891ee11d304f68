"""`clawgate doctor`: the checks of CLI.md, each with a status and a fix, and the repairs
``--fix`` can make safely: config migrations, file modes, stale runtime files, state.db
migrations. Every changed file is backed up first (timestamped) and every change is listed in
a receipt; a second ``--fix`` finds nothing to do.
"""

from __future__ import annotations

import difflib
import json
import sqlite3
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from clawgate.clock import Clock
from clawgate.config import (
    ConfigError,
    LoadedConfig,
    Paths,
    load_config,
    migrate,
    rewrite_config,
)
from clawgate.diagnostics._gateway import gateway_facts
from clawgate.diagnostics._status import collect_status
from clawgate.fileio import write_atomic
from clawgate.service import read_runtime_file, runtime_file, unit_path, unit_text
from clawgate.state import MIGRATIONS, open_db
from clawgate.vault import Vault
from clawgate.views import to_json

__all__ = ["Check", "DoctorReport", "run_doctor"]

Status = Literal["ok", "warn", "fail", "fixed"]
_PRIVATE_DIR, _PRIVATE_FILE = 0o700, 0o600


@dataclass
class Check:
    name: str
    status: Status
    message: str
    fix: str | None = None
    # What --fix does about it; None when a person has to act.
    repair: Callable[[], list[str]] | None = field(default=None, repr=False)


@dataclass
class DoctorReport:
    checks: list[Check]
    changes: list[dict[str, Any]]  # the receipt: what --fix changed, file by file
    diff: str | None  # the config diff (--dry-run, or what --fix applied)
    receipt: str | None = None  # where the receipt was written
    bad_config: bool = False

    @property
    def failed(self) -> bool:
        return any(c.status == "fail" for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        checks = [
            {**to_json(c, drop=("repair",)), "fixable": c.repair is not None} for c in self.checks
        ]
        return {**to_json(self, drop=("bad_config",)), "checks": checks}


def run_doctor(
    paths: Paths,
    env: Mapping[str, str],
    vault: Vault,
    clock: Clock,
    *,
    fix: bool = False,
    dry_run: bool = False,
) -> DoctorReport:
    stamp = datetime.fromtimestamp(clock.now(), UTC).strftime("%Y%m%dT%H%M%SZ")
    changes: list[dict[str, Any]] = []
    config_check, loaded, diff = _config(paths, env, stamp, changes, fix and not dry_run)
    checks = [config_check]
    checks += _permissions(paths)
    checks += _profiles(loaded, vault, clock) if loaded else []
    checks.append(_state_db(paths))
    checks.append(_stale_files(paths))
    checks += _gateway(paths, env, vault)
    if fix and not dry_run:
        for check in checks:
            if check.repair is not None:
                done = check.repair()
                if done:
                    changes.append({"check": check.name, "changes": done})
                    check.status, check.message = "fixed", "; ".join(done)
    report = DoctorReport(checks, changes, diff, bad_config=loaded is None)
    if changes:
        receipt = paths.state_dir / "doctor" / f"receipt-{stamp}.json"
        receipt.parent.mkdir(mode=_PRIVATE_DIR, parents=True, exist_ok=True)
        document = {"at": stamp, "changes": changes, "diff": diff}
        write_atomic(receipt, json.dumps(document, indent=2).encode())
        report.receipt = str(receipt)
    return report


# The config ---------------------------------------------------------------------------------


def _config(
    paths: Paths,
    env: Mapping[str, str],
    stamp: str,
    changes: list[dict[str, Any]],
    apply: bool,
) -> tuple[Check, LoadedConfig | None, str | None]:
    config_file = paths.config_file
    try:
        loaded = load_config(config_file, env)
    except ConfigError as exc:
        return Check("config", "fail", exc.message, exc.fix), None, None
    if loaded.source is None:
        return Check("config", "ok", "no config file: the built-in defaults"), loaded, None
    pending: list[str] = []
    backup = config_file.with_name(f"{config_file.name}.bak-{stamp}")
    old, new = rewrite_config(
        config_file,
        env,
        lambda raw: pending.extend(migrate(raw)),
        backup=backup,
        dry_run=not apply,
    )
    if new is None:  # nothing to migrate
        warned = "; ".join(str(w) for w in loaded.warnings)
        status: Status = "warn" if warned else "ok"
        return Check("config", status, warned or f"{config_file} loads cleanly"), loaded, None
    diff = _diff(old or "", new, config_file)
    check = Check(
        "config",
        "warn",
        "OpenClaw-shaped settings to migrate: " + "; ".join(pending),
        "clawgate doctor --fix (see the diff first: clawgate doctor --dry-run)",
    )
    if apply:
        changes.append({"file": str(config_file), "backup": str(backup), "changes": pending})
        check.status, check.message = "fixed", "migrated: " + "; ".join(pending)
        loaded = load_config(config_file, env)
    return check, loaded, diff


def _diff(old: str, new: str, config_file: Path) -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"{config_file} (now)",
            tofile=f"{config_file} (after --fix)",
        )
    )


# Files and their modes ----------------------------------------------------------------------


def _permissions(paths: Paths) -> list[Check]:
    vault_dir = paths.vault_dir
    wrong: list[tuple[Path, int]] = []
    for directory in (paths.state_dir, vault_dir, vault_dir / "profiles", vault_dir / "meta"):
        if directory.is_dir() and stat.S_IMODE(directory.stat().st_mode) != _PRIVATE_DIR:
            wrong.append((directory, _PRIVATE_DIR))
    secrets = [vault_dir / "key", *sorted((vault_dir / "profiles").glob("*.json"))]
    secrets += [paths.state_db]
    for path in secrets:
        if path.is_file() and stat.S_IMODE(path.stat().st_mode) & 0o077:
            wrong.append((path, _PRIVATE_FILE))
    if not wrong:
        return [Check("permissions", "ok", "state and vault are private (0700 dirs, 0600 files)")]

    def repair() -> list[str]:
        done = []
        for path, mode in wrong:
            path.chmod(mode)
            done.append(f"chmod {mode:o} {path}")
        return done

    listed = ", ".join(f"{p} ({stat.S_IMODE(p.stat().st_mode):o})" for p, _ in wrong)
    return [
        Check(
            "permissions",
            "fail",
            f"readable by others: {listed}",
            "clawgate doctor --fix (sets 0700 on directories, 0600 on files)",
            repair,
        )
    ]


# Profiles -----------------------------------------------------------------------------------


def _profiles(loaded: LoadedConfig, vault: Vault, clock: Clock) -> list[Check]:
    report = collect_status(loaded.settings, vault, None, clock)
    checks = []
    if report.vault_key_error:
        checks.append(
            Check("vault key", "fail", report.vault_key_error, "set CLAWGATE_VAULT_KEY to the key")
        )
    else:
        checks.append(Check("vault key", "ok", f"from {report.vault_key or 'nowhere yet'}"))
    configured = loaded.settings.auth.profiles
    for p in report.profiles:
        name = f"profile {p.profile}"
        meta = configured.get(p.profile)
        if p.state == "ok" and meta and (meta.provider, meta.mode) != (p.provider, p.kind):
            checks.append(
                Check(
                    name,
                    "warn",
                    f"the config says {meta.provider} ({meta.mode}), the vault holds "
                    f"{p.provider} ({p.kind})",
                    f"correct auth.profiles[{p.profile!r}] in clawgate.json, or log in again",
                )
            )
        elif p.state == "ok" and p.grant.state == "failing":
            checks.append(Check(name, "warn", f"refresh failing: {p.grant.message}", None))
        elif p.state == "ok":
            checks.append(Check(name, "ok", f"{p.kind} ({p.billing}) decrypts and is usable"))
        else:
            detail = f": {p.detail}" if p.detail else ""
            checks.append(Check(name, "fail", f"{p.state}{detail}", p.fix))
    return checks


# State --------------------------------------------------------------------------------------


def _state_db(paths: Paths) -> Check:
    db = paths.state_db
    if not db.exists():
        return Check("state.db", "ok", "not created yet (the first turn creates it)")
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            rows = conn.execute("SELECT name FROM migrations").fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return Check("state.db", "fail", f"cannot be read: {exc}", f"move {db} aside")
    applied = {name for (name,) in rows}
    missing = [m.name for m in MIGRATIONS if m.name not in applied]
    if not missing:
        return Check("state.db", "ok", f"schema up to date ({len(MIGRATIONS)} migrations)")

    def repair() -> list[str]:
        open_db(db).close()
        return [f"state.db migrations applied: {', '.join(missing)}"]

    return Check(
        "state.db",
        "warn",
        f"migrations not applied yet: {', '.join(missing)} (the next turn applies them)",
        "clawgate doctor --fix",
        repair,
    )


def _stale_files(paths: Paths) -> Check:
    """Locks are flock(2) locks, released by the kernel when their owner dies, so they are
    never stale; what a crash can leave is the gateway's runtime file and writers' temps."""
    stale = []
    path = runtime_file(paths)
    if path.exists() and read_runtime_file(paths) is None:
        stale.append(path)
    for folder in (paths.vault_dir / "profiles", paths.vault_dir / "meta"):
        stale += sorted(folder.glob(".*.tmp")) if folder.is_dir() else []
    if not stale:
        return Check("stale files", "ok", "no stale runtime or temporary files (locks are flock)")

    def repair() -> list[str]:
        for item in stale:
            item.unlink(missing_ok=True)
        return [f"removed {item}" for item in stale]

    return Check(
        "stale files",
        "warn",
        "left by processes that are gone: " + ", ".join(str(p) for p in stale),
        "clawgate doctor --fix",
        repair,
    )


def _gateway(paths: Paths, env: Mapping[str, str], vault: Vault) -> list[Check]:
    checks = []
    unit = unit_path(env)
    if not unit.exists():
        checks.append(Check("gateway unit", "ok", "not installed"))
    elif unit.read_text() != unit_text(paths):
        checks.append(
            Check(
                "gateway unit",
                "warn",
                f"{unit} runs another clawgate or state directory than this one",
                "clawgate gateway install",
            )
        )
    else:
        checks.append(Check("gateway unit", "ok", f"{unit} runs this clawgate"))
    facts, _ = gateway_facts(paths, env, vault)
    if not facts.get("running"):
        checks.append(Check("gateway", "ok", "not running"))
    elif not facts.get("answering"):
        checks.append(
            Check(
                "gateway",
                "fail",
                f"pid {facts['pid']} {facts['error']}",
                "clawgate gateway restart",
            )
        )
    elif not facts.get("configCurrent"):
        error = facts.get("configError")
        checks.append(
            Check(
                "gateway",
                "warn",
                "the running gateway does not use the current config"
                + (f": {error}" if error else ""),
                "fix the config, then: clawgate gateway restart",
            )
        )
    else:
        checks.append(Check("gateway", "ok", f"pid {facts['pid']} uses the current config"))
    return checks
