"""Third-party targets: a real package (``tests/plugin_example``), pip-installed, found through its entry point."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bulkdelete.emulator import EmulatorConfig, run_emulator
from tests.conftest import KEY, ROOT, TRICKY_URIS, cli_env, run_cli, write_ids

PLUGIN_SOURCE = ROOT / "tests" / "plugin_example"
IDS = [*TRICKY_URIS, "a/b", "..", "100%", "+", "ä ö"]


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example plugin pip-installed (a wheel built by its own pyproject) into a folder of its own, so the
    test venv is left as it was; the CLI runs with that folder on ``PYTHONPATH``."""
    work = tmp_path_factory.mktemp("plugin")
    source = shutil.copytree(PLUGIN_SOURCE, work / "src", ignore=shutil.ignore_patterns("__pycache__"))
    site = work / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index"]
    done = subprocess.run([*pip, "--target", str(site), str(source)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (site / "bulkdelete_plugin_example-0.1.0.dist-info" / "entry_points.txt").exists()
    return site


def plugin_env(site: Path, **extra: str) -> dict[str, str]:
    return cli_env({"PYTHONPATH": str(site), **extra})


async def test_the_plugin_deletes_through_the_engine_with_every_id_exactly_as_read(
    plugin_site: Path, tmp_path: Path
) -> None:
    ids = write_ids(tmp_path / "ids.txt", [*IDS, "absent"])
    summary = tmp_path / "summary.json"
    async with run_emulator(EmulatorConfig(api_key=KEY), docs=[*IDS, "keep"]) as emu:
        args = ["example", "delete", "--base-url", emu.base_url, "--collection", "docs", "--summary", str(summary)]
        done = await run_cli(*args, str(ids), env=plugin_env(plugin_site, EXAMPLE_API_KEY=KEY))
        assert emu.documents == ["keep"]
        stats = emu.stats()
    assert done.code == 0, done.stderr
    assert {line["id"]: line["outcome"] for line in done.lines} == {
        **dict.fromkeys(IDS, "deleted"),
        "absent": "not_found",
    }
    assert stats["requests"] == len(IDS) + 1
    assert KEY not in summary.read_text()


async def test_a_wrong_key_aborts_a_plugin_run_as_any_other(plugin_site: Path, tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", [f"d{n}" for n in range(200)])
    async with run_emulator(EmulatorConfig(api_key=KEY), docs=[]) as emu:
        args = ["example", "delete", "--base-url", emu.base_url, "--collection", "docs", str(ids)]
        done = await run_cli(*args, env=plugin_env(plugin_site, EXAMPLE_API_KEY="wrong-key-123"))
        assert emu.stats()["requests"] <= 16
    assert done.code == 3
    assert {line["status"] for line in done.lines} == {401}


async def test_help_lists_the_plugin_and_its_own_options(plugin_site: Path) -> None:
    top = await run_cli("--help", env=plugin_env(plugin_site))
    assert top.code == 0 and "example" in top.stdout.decode()
    delete = await run_cli("example", "delete", "--help", env=plugin_env(plugin_site))
    text = delete.stdout.decode()
    assert "--collection" in text and "--max-requests" in text and "--resume" in text


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--collection", "c", "--base-url", "http://127.0.0.1:1"], {}, "set EXAMPLE_API_KEY"),
        (["--collection", "c", "--base-url", "http://search.example.com"], {"EXAMPLE_API_KEY": KEY}, "clear text"),
        (["--base-url", "http://127.0.0.1:1"], {"EXAMPLE_API_KEY": KEY}, "--collection"),
        (["--collection", "c"], {"EXAMPLE_API_KEY": KEY}, "--base-url is required"),
    ],
)
async def test_bad_plugin_flags_exit_2(
    plugin_site: Path, tmp_path: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    ids = write_ids(tmp_path / "ids.txt", ["a"])
    done = await run_cli("example", "delete", *args, str(ids), env=plugin_env(plugin_site, **env))
    assert done.code == 2
    assert message in done.stderr


async def test_a_plugin_that_cannot_load_is_reported_and_the_cli_still_works(tmp_path: Path) -> None:
    dist = tmp_path / "broken_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (tmp_path / "not_a_plugin.py").write_text("plugin = 42\n")
    (dist / "entry_points.txt").write_text(
        "[bulkdelete.targets]\nbroken = no_such_module_anywhere:plugin\nodd = not_a_plugin:plugin\n"
    )
    env = cli_env({"PYTHONPATH": str(tmp_path)})
    listing = await run_cli("--help", env=env)
    assert listing.code == 0 and "broken" in listing.stdout.decode()
    broken = await run_cli("broken", "delete", env=env)
    assert broken.code == 2
    assert "the plugin 'broken' (no_such_module_anywhere:plugin) cannot be loaded (ModuleNotFoundError" in broken.stderr
    odd = await run_cli("odd", env=env)
    assert odd.code == 2 and "names a int, not a bulkdelete.targets.TargetPlugin" in odd.stderr
    assert (await run_cli("velt", "--help", env=env)).code == 0


def test_the_readme_shows_the_example_plugin_as_it_is() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    source = (PLUGIN_SOURCE / "bulkdelete_plugin_example.py").read_text(encoding="utf-8")
    assert f"```python\n{source}```\n" in readme
    assert 'example = "bulkdelete_plugin_example:plugin"' in readme
    assert 'example = "bulkdelete_plugin_example:plugin"' in (PLUGIN_SOURCE / "pyproject.toml").read_text()
    assert len(source.splitlines()) <= 40  # "a plugin in about 30 lines"
