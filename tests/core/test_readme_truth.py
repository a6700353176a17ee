"""The README says what the code does: its command list, its options and its settings table.

A maintainer reads the README first; a stale option or an undocumented setting is a bug there.
These tests read README.md and compare it with the CLI's real parser and with the settings the
code reads, so a change to either that forgets the other fails here.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from socialhub.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _section(title: str) -> str:
    start = README.index(f"## {title}")
    end = README.find("\n## ", start + 3)
    return README[start:end if end > 0 else None]


def _commands(parser: argparse.ArgumentParser, prefix: str = "socialhub") -> dict[str, argparse.ArgumentParser]:
    """Every leaf command ("socialhub audit verify") and its parser."""
    out: dict[str, argparse.ArgumentParser] = {}
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return {prefix: parser}
    for name, sub in subs[0].choices.items():
        out.update(_commands(sub, f"{prefix} {name}"))
    return out


def _readme_command_lines() -> list[str]:
    block = re.search(r"```\n(socialhub .*?)```", _section("Command line"), re.S)
    assert block, "README's Command line section has no code block of socialhub commands"
    return [line for line in block.group(1).splitlines() if line.startswith("socialhub ")]


def _named(line: str) -> list[str]:
    """The command(s) a README line names: its leading words, "add|remove" expanded."""
    names = [["socialhub"]]
    for word in line.split()[1:]:
        if word.startswith(("-", "[")) or not re.fullmatch(r"[a-z|]+", word):
            break
        names = [n + [alt] for n in names for alt in word.split("|")]
    return [" ".join(n) for n in names]


def test_every_command_is_in_the_readme_and_every_readme_command_exists() -> None:
    commands = _commands(build_parser())
    listed: set[str] = set()
    for line in _readme_command_lines():
        for name in _named(line):
            assert name in commands, f"README lists a command the CLI does not have: {name!r} ({line.strip()})"
            listed.add(name)
    missing = sorted(set(commands) - listed)
    assert not missing, f"commands missing from README's Command line section: {missing}"


def test_every_option_the_readme_shows_exists() -> None:
    commands = _commands(build_parser())
    for line in _readme_command_lines():
        usage = re.split(r"\s{3,}", line.strip())[0]          # the usage, not the description after it
        for name in _named(line):
            options = {s for a in commands[name]._actions for s in a.option_strings}
            for opt in re.findall(r"(?<![\w-])(--[a-z][\w-]*)", usage):
                assert opt in options, f"README shows {opt} for `{name}`, which has only {sorted(options)}"


def _settings_read_by_code() -> set[str]:
    found: set[str] = set()
    for folder in ("include", "plugins", "dags"):
        for path in (ROOT / folder).rglob("*.py"):
            found.update(re.findall(r"[\"'](SOCIALHUB_[A-Z0-9_]+)[\"']", path.read_text()))
    return found


def test_every_setting_in_the_readme_table_is_read_by_the_code() -> None:
    table = _section("Configuration")
    documented = set(re.findall(r"^\| `(SOCIALHUB_[A-Z0-9_]+)`", table, re.M))
    assert documented, "README's Configuration table lists no SOCIALHUB_ setting"
    unknown = sorted(documented - _settings_read_by_code())
    assert not unknown, f"README documents settings no code reads: {unknown}"


def test_every_setting_the_code_reads_is_documented_somewhere() -> None:
    docs = README + "".join(p.read_text() for p in (ROOT / "docs").glob("*.md"))
    undocumented = sorted(s for s in _settings_read_by_code()
                          if s not in docs and not s.endswith("_"))      # prefixes such as SOCIALHUB_<PLATFORM>_
    assert not undocumented, f"settings the code reads that neither README.md nor docs/ mention: {undocumented}"


def test_the_demo_summary_sample_shows_only_lines_the_demo_prints() -> None:
    """The Quickstart's sample came from a real run; each of its lines is one the demo's code still
    prints (its label, "accounts polled:", "officer decisions:", ..., is in the summary's source)."""
    start = README.index("It prints a summary like this")
    block = re.search(r"```\n(.*?)```", README[start:], re.S)
    assert block, "README's Quickstart has no demo summary sample"
    source = "".join((ROOT / "include" / "socialhub" / f).read_text()
                     for f in ("demo.py", "review/demo.py", "audit/outcomes.py", "reclassify/report.py",
                               "explain/report.py", "governance/cli.py", "sources/health_cli.py"))
    labels = re.findall(r"^[ ]*([a-z][\w '()/-]*?:)[ ]+\S", block.group(1), re.M)
    assert len(labels) >= 12, labels
    # a label with run-specific words in brackets ("not collected (authorisation X lapsed D):") is
    # checked by its fixed part
    missing = [label for label in labels if re.sub(r"\s*\(.*\):$", "", label.strip()) not in source]
    assert not missing, f"README's demo sample shows lines the demo no longer prints: {missing}"
    titles = re.findall(r"^([a-z][\w ()]+)\n=+$", block.group(1), re.M)
    assert titles and all(t in source for t in titles), titles
