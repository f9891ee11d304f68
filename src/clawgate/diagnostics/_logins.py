"""`doctor`'s check that each stored credential is of a kind its provider can use, and the
repair of the one mistake that is common: a ChatGPT login filed under the API-key provider
``openai`` (as OpenClaw files it, and as an import before this check copied it).

That login's token sent to api.openai.com fails, so such a profile is a failure, never ok.
``--fix`` applies the importer's mapping (`clawgate.importers.follow_logins`): the login
moves to ``openai-codex:<name>``, its order and the refs that used it follow; the envelope
and the config are backed up first and the receipt lists each change. Any other credential
on the wrong provider needs a person: the check names the command.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clawgate.catalog import facts
from clawgate.config import LoadedConfig, Paths, rewrite_config
from clawgate.fileio import ensure_private_dir, write_atomic
from clawgate.importers import API, CODEX, codex_id, follow_logins, moves_to_codex
from clawgate.vault import Kind, StoredProfile, Unresolved, Vault, VaultError

__all__ = ["Misfiled", "misfiled"]


@dataclass
class Misfiled:
    """A profile whose provider cannot use its credential: `doctor` shows it as a failure."""

    name: str  # the name of its check, "profile <id>"
    message: str
    fix: str
    repair: Callable[[], list[str]] | None = field(default=None, repr=False)


def misfiled(
    loaded: LoadedConfig, vault: Vault, paths: Paths, env: Mapping[str, str], stamp: str
) -> list[Misfiled]:
    stored: dict[str, StoredProfile] = {}
    for profile_id in vault.profile_ids():
        try:
            stored[profile_id] = vault.load(profile_id)
        except VaultError:
            continue  # unreadable: its own check says so
    providers = loaded.settings.models.providers
    keeps_key = any(s.provider == API and s.kind is Kind.API_KEY for s in stored.values())
    return [
        _wrong(profile_id, profile, stored, vault, paths, env, stamp, keeps_key)
        for profile_id, profile in stored.items()
        if not facts(profile.provider, providers.get(profile.provider)).takes(profile.kind.value)
    ]


def _wrong(
    profile_id: str,
    profile: StoredProfile,
    stored: dict[str, StoredProfile],
    vault: Vault,
    paths: Paths,
    env: Mapping[str, str],
    stamp: str,
    keeps_key: bool,
) -> Misfiled:
    name = f"profile {profile_id}"
    needs = facts(profile.provider).credential
    what = (
        f"a {profile.kind.value} credential on provider {profile.provider}, which needs "
        f"{needs.replace('_', ' ')}: a turn would send it to the wrong endpoint"
    )
    if not moves_to_codex(profile.provider, profile.kind.value):
        return Misfiled(name, what, facts(profile.provider).fix())
    target = codex_id(profile_id)
    if target in stored:
        return Misfiled(
            name,
            f"{what}; {target} exists already",
            f"clawgate models auth logout {profile_id} (the login is also {target})",
        )

    def repair() -> list[str]:
        return _move(vault, paths, env, stamp, profile_id, target, keeps_key)

    return Misfiled(
        name,
        f"{what} (a ChatGPT login: clawgate's provider for it is {CODEX})",
        f"clawgate doctor --fix (moves it to {target}; refs openai/* that used it follow)",
        repair,
    )


def _move(
    vault: Vault,
    paths: Paths,
    env: Mapping[str, str],
    stamp: str,
    old: str,
    new: str,
    keeps_key: bool,
) -> list[str]:
    backups = paths.state_dir / "doctor" / f"backup-{stamp}"
    ensure_private_dir(backups)  # doctor/ too: mkdir's parents would get the umask's mode
    sealed = vault.sealed(old)
    if sealed is None:
        raise Unresolved(old, "no credentials stored", fix="nothing to move")
    backup = backups / sealed[0]
    write_atomic(backup, sealed[1])  # the envelope is sealed to its name: restorable as is
    profile = vault.load(old)
    vault.save(new, CODEX, profile.material)
    vault.delete(old)
    done = [f"moved {old} to {new} (the old envelope is in {backup})"]
    config_file = paths.config_file
    if config_file.exists():
        changes: list[str] = []

        def change(raw: dict[str, Any]) -> None:
            changes.extend(follow_logins(raw, {old: new}, keeps_key))

        _, text = rewrite_config(
            config_file, env, change, backup=_config_backup(config_file, stamp)
        )
        if text is not None:
            done += changes
            done.append(f"{config_file} backed up to {_config_backup(config_file, stamp)}")
    return done


def _config_backup(config_file: Path, stamp: str) -> Path:
    return config_file.with_name(f"{config_file.name}.bak-{stamp}-logins")
