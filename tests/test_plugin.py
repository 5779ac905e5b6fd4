"""README's "Writing a channel" example, built as a real package, installed, and published through."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from publisher.core.plugins import type_names

REPO = Path(__file__).resolve().parent.parent


def readme_files() -> dict[str, str]:
    """The code blocks of the README section that start with a ``# <file name>`` line."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Writing a channel", 1)[1].split("\n## ", 1)[0]
    files = {}
    for block in re.findall(r"```(?:toml|python)\n(.*?)```", section, re.S):
        first, _, rest = block.partition("\n")
        if re.match(r"^# [\w.]+\.(py|toml)$", first):
            files[first[2:]] = rest if first.endswith(".toml") else block
    return files


def test_the_readme_names_both_files_of_the_example():
    assert set(readme_files()) == {"pyproject.toml", "publisher_outbox.py"}


@pytest.mark.e2e
def test_a_plugin_written_from_the_readme_installs_and_publishes(tmp_path: Path) -> None:
    package = tmp_path / "publisher-outbox"
    package.mkdir()
    for name, text in readme_files().items():
        (package / name).write_text(text, encoding="utf-8")
    target = tmp_path / "site-packages"
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--quiet",
            "--target",
            str(target),
            str(package),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    assert list(target.glob("publisher_outbox-1.0.dist-info/entry_points.txt"))

    site = tmp_path / "site"
    (site / "posts").mkdir(parents=True)
    (site / "config.toml").write_text(
        '[publisher]\ntimezone = "UTC"\nstate = "state/publisher.db"\n\n'
        '[channels.outbox]\ntype = "outbox"\npath = "outbox.jsonl"\n',
        encoding="utf-8",
    )
    due = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    (site / "posts" / "hello.md").write_text(
        f'+++\ntitle = "Hello from a plugin"\npublish_at = {due}\ntags = ["S3Chem"]\n+++\nBody.\n',
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    command = [sys.executable, "-m", "publisher", "--config", str(site / "config.toml")]

    check = subprocess.run(
        [*command, "check"], capture_output=True, text=True, env=env, timeout=120
    )
    assert check.returncode == 0, check.stderr
    run = subprocess.run(
        [*command, "run", "--once"], capture_output=True, text=True, env=env, timeout=120
    )
    assert run.returncode == 0, run.stderr
    again = subprocess.run(
        [*command, "run", "--once"], capture_output=True, text=True, env=env, timeout=120
    )
    assert again.returncode == 0, again.stderr

    lines = (site / "outbox.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [
        {"id": "hello/en/outbox/post", "text": "Hello from a plugin\n\nBody.\n\n#S3Chem"}
    ]


def test_without_the_plugin_the_type_is_a_clear_config_error(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        '[publisher]\ntimezone = "UTC"\n[channels.outbox]\ntype = "outbox"\npath = "o.jsonl"\n',
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "publisher", "--config", str(tmp_path / "config.toml"), "check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "channels.outbox.type: 'outbox' is not an installed channel type" in result.stderr
    assert ", ".join(type_names()) in result.stderr  # every installed type is named


def test_no_module_outside_a_channel_names_a_channel_type() -> None:
    """Adding a network is one module: nothing else may test for a type's name."""
    import ast

    from publisher.core.plugins import installed

    types = installed()
    own = {entry.value.split(":")[0].rsplit(".", 1)[-1] for entry in types.values()}
    offenders = []
    for path in sorted((REPO / "publisher").rglob("*.py")):
        if path.parent.name == "channels" and path.stem.split("_")[0] in own:
            continue  # a channel's own module, or one of its helpers (linkedin_errors)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in types:
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno}: {node.value!r}")
    assert not offenders, "channel type names outside their modules:\n" + "\n".join(offenders)
