"""`clawgate doctor`: the checks of docs/cli.md, each with a status and a fix, and the repairs
``--fix`` can make safely: config migrations, file modes, stale runtime files, the state
store's migrations. Every changed file is backed up first (timestamped) and every change is
listed in a receipt; a second ``--fix`` finds nothing to do.
"""

from __future__ import annotations

import difflib
import json
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from clawgate.catalog import facts
from clawgate.clock import Clock
from clawgate.config import (
    ConfigError,
    LoadedConfig,
    Paths,
    Settings,
    load_config,
    migrate,
    rewrite_config,
)
from clawgate.diagnostics._gateway import gateway_facts
from clawgate.diagnostics._logins import misfiled
from clawgate.diagnostics._status import StatusReport, collect_status
from clawgate.diagnostics._store_checks import URL_FIX, urls_in_config
from clawgate.fileio import ensure_private_dir, write_atomic
from clawgate.postgres import StoreUnavailable
from clawgate.service import read_runtime_file, runtime_file, unit_path, unit_text
from clawgate.state import check_store, existing_state, repair_store
from clawgate.vault import KeyUnavailable, UnsafePath, Vault
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
    if fix and not dry_run:  # the vault refuses modes these repair (StrictModes): first
        _repair(checks, changes)
    state_db = _state_store(loaded.settings if loaded else Settings(), paths, env)
    # Profiles and the chain as `models status --check` sees them; with a broken config, the
    # vault and its profiles are still checked (against the defaults).
    checks += _profiles(loaded, vault, clock, paths if state_db.status == "ok" else None, env)
    if loaded:  # a credential its provider cannot use is a failure, never ok (_logins)
        try:
            found = misfiled(loaded, vault, paths, env, stamp)
        except StoreUnavailable:  # the vault on PostgreSQL, away: its check says so
            found = []
        wrong = {m.name: Check(m.name, "fail", m.message, m.fix, m.repair) for m in found}
        checks = [wrong.pop(c.name, c) for c in checks] + list(wrong.values())
    checks.append(state_db)
    checks += _urls_in_config(paths)
    checks.append(_stale_files(paths))
    checks += _gateway(paths, env, vault)
    if fix and not dry_run:
        _repair(checks, changes)
    report = DoctorReport(checks, changes, diff, bad_config=loaded is None)
    if changes:
        receipt = paths.state_dir / "doctor" / f"receipt-{stamp}.json"
        ensure_private_dir(receipt.parent)
        document = {"at": stamp, "changes": changes, "diff": diff}
        write_atomic(receipt, json.dumps(document, indent=2).encode())
        report.receipt = str(receipt)
    return report


def _repair(checks: list[Check], changes: list[dict[str, Any]]) -> None:
    for check in checks:
        if check.repair is not None and check.status != "fixed":
            done = check.repair()
            if done:
                changes.append({"check": check.name, "changes": done})
                check.status, check.message = "fixed", "; ".join(done)


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
    """Every directory under the state directory 0700, every file 0600 (secrets, state.db,
    logs, locks, the chat history, backups): what the ok line says is what was checked."""
    wrong: list[tuple[Path, int]] = []
    if paths.state_dir.is_dir() and not paths.state_dir.is_symlink():
        for path in [paths.state_dir, *sorted(paths.state_dir.rglob("*"))]:
            # A link is not followed (chmod would change its target): the vault refuses it.
            if path.is_symlink():
                continue
            mode = stat.S_IMODE(path.lstat().st_mode)
            if path.is_dir() and mode != _PRIVATE_DIR:
                wrong.append((path, _PRIVATE_DIR))
            elif path.is_file() and mode & 0o077:
                wrong.append((path, _PRIVATE_FILE))
    if not wrong:
        said = f"everything under {paths.state_dir} is private (0700 dirs, 0600 files)"
        return [Check("permissions", "ok", said)]

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


def _profiles(
    loaded: LoadedConfig | None,
    vault: Vault,
    clock: Clock,
    paths: Paths | None,
    env: Mapping[str, str],
) -> list[Check]:
    """The vault key, every profile, and (with a config that loads) the model chain.
    ``paths`` when the state store is current: its health marks and last probes count too."""
    try:
        vault.keys.resolve(create=False)
    except UnsafePath as exc:  # StrictModes: no profile is read here, whatever is stored
        return [Check("vault", "fail", exc.message, exc.fix)]
    except KeyUnavailable:
        pass  # reported below, with the profiles it leaves unreadable
    settings = loaded.settings if loaded else Settings()
    state = existing_state(settings, paths, env) if paths else None
    try:
        report = collect_status(settings, vault, state, clock)
    except StoreUnavailable as exc:  # the vault on PostgreSQL, and the database away
        return [Check("vault", "fail", exc.message, exc.fix)]
    finally:
        if state is not None:
            state.close()
    checks = []
    if report.vault_key_error:
        checks.append(
            Check("vault key", "fail", report.vault_key_error, "set CLAWGATE_VAULT_KEY to the key")
        )
    elif report.vault_key:
        checks.append(Check("vault key", "ok", f"from {report.vault_key}"))
    else:
        checks.append(Check("vault key", "ok", "none yet (made when a credential is first stored)"))
    configured = settings.auth.profiles
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
        elif p.state == "ok" and p.attention:
            said = "; ".join(r.removeprefix(f"{p.profile}: ") for r in p.attention)
            fix = (p.last_probe or {}).get("fix") or "clawgate models status --probe"
            checks.append(Check(name, "warn", said, fix))
        elif p.state == "ok":
            checks.append(Check(name, "ok", f"{p.kind} ({p.billing}) decrypts and is usable"))
        else:
            detail = f": {p.detail}" if p.detail else ""
            checks.append(Check(name, "fail", f"{p.state}{detail}", p.fix))
    return checks + (_chain(report, settings) if loaded else [])


def _chain(report: StatusReport, settings: Settings) -> list[Check]:
    """The chain resolves, and each model has a usable profile or names the login it
    lacks: a config whose chain cannot answer fails, one with a model short of a login warns."""
    if report.chain_error:
        return [Check("model chain", "fail", report.chain_error, report.chain_fix)]
    fixes = {p.profile: p.fix for p in report.profiles}
    checks = []
    for entry in report.chain:
        usable = [s["profile"] for s in entry.steps if s["decision"] == "candidate"]
        name = f"model {entry.ref} ({entry.role})"
        if usable:
            checks.append(Check(name, "ok", f"answered with {', '.join(usable)}"))
            continue
        missing = ", ".join(f"{s['profile']} ({s['reason']})" for s in entry.steps)
        provider = entry.ref.partition("/")[0]
        fix = next(
            (fixes[s["profile"]] for s in entry.steps if fixes.get(s["profile"])),
            facts(provider, settings.models.providers.get(provider)).fix(),
        )
        checks.append(Check(name, "warn", f"no usable profile: {missing or 'none'}", fix))
    if checks and all(c.status != "ok" for c in checks):
        for c in checks:
            c.status = "fail"  # nothing in the chain can answer a turn
    return checks


# State --------------------------------------------------------------------------------------


def _state_store(settings: Settings, paths: Paths, env: Mapping[str, str]) -> Check:
    """Which backend holds the state records, and whether it is reachable and current."""
    found = check_store(settings, paths, env)
    message = f"{found.backend} ({found.where}): {found.message}"
    if not found.pending:
        return Check("state store", found.status, message, found.fix)

    def repair() -> list[str]:
        repair_store(settings, paths, env)
        return [f"state store migrations applied: {', '.join(found.pending)}"]

    return Check("state store", found.status, message, found.fix, repair)


def _urls_in_config(paths: Paths) -> list[Check]:
    """A database connection string in the config file is refused, wherever it is."""
    return [
        Check(
            "database url",
            "fail",
            f"{paths.config_file}: {where} holds a database connection string; the config "
            "file is not encrypted, so clawgate never reads one from it",
            URL_FIX,
        )
        for where in urls_in_config(paths.config_file)
    ]


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
