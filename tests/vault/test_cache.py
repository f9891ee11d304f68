from __future__ import annotations

from pathlib import Path

from clawgate.secret import Secret
from clawgate.vault import ApiKeyMaterial, ProfileCache
from tests.vault.helpers import open_vault
from tests.vault_backends import remove_raw


def test_the_held_copy_is_served_without_the_vault(tmp_path: Path) -> None:
    vault = open_vault(tmp_path)
    vault.save("openai:default", "openai", ApiKeyMaterial(Secret("k1")))
    cache = ProfileCache(vault)
    assert cache.get("openai:default") is None
    loaded = cache.load("openai:default")
    remove_raw(vault, "openai:default")  # the disk is gone; memory still answers
    assert cache.get("openai:default") is loaded


def test_a_write_by_another_process_makes_the_copy_stale(tmp_path: Path) -> None:
    cache = ProfileCache(open_vault(tmp_path))
    cache.hold(cache.vault.save("openai:default", "openai", ApiKeyMaterial(Secret("k1"))))
    assert not cache.is_stale("openai:default")
    other = open_vault(tmp_path)  # as another process would
    other.save("openai:default", "openai", ApiKeyMaterial(Secret("k2")))
    assert cache.is_stale("openai:default")
    fresh = cache.fresh("openai:default")
    assert fresh.material == ApiKeyMaterial(Secret("k2"))
    assert fresh.generation == 2
    assert cache.fresh("openai:default") is fresh
    cache.forget("openai:default")
    assert cache.get("openai:default") is None
