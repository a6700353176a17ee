"""Every --help is plain text (no RST or Markdown markup) and fetch --help names every platform."""

from __future__ import annotations

import argparse
import re

import pytest

from socialhub.cli import build_parser, main, plain
from socialhub.sources.registry import CONNECTORS


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [path]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out += _commands(sub, (*path, name))
    return out


COMMANDS = _commands(build_parser())


def _help(capsys: pytest.CaptureFixture[str], path: tuple[str, ...]) -> str:
    with pytest.raises(SystemExit) as exit_:
        main([*path, "--help"])
    assert exit_.value.code == 0
    return capsys.readouterr().out


def test_every_command_is_checked() -> None:
    assert len(COMMANDS) >= 15 and ("audit", "report") in COMMANDS and ("fetch",) in COMMANDS


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "socialhub")
def test_help_is_plain_text(capsys: pytest.CaptureFixture[str], path: tuple[str, ...]) -> None:
    text = _help(capsys, path)
    assert "usage: socialhub" in text
    assert "``" not in text, text
    assert "`" not in text, text                 # no Markdown code spans either
    assert not re.search(r":(ref|func|class|mod|meth|attr):", text), text
    assert "**" not in text, text


def test_top_level_help_names_the_command_plainly(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(capsys, ())
    assert "The socialhub command" in text and "``socialhub``" not in text


def test_fetch_help_names_every_registered_platform(capsys: pytest.CaptureFixture[str]) -> None:
    text = " ".join(_help(capsys, ("fetch",)).split())      # argparse wraps lines
    assert "..." not in text
    for platform in CONNECTORS:
        assert re.search(rf"\b{re.escape(platform)} \(", text), platform
    for name in ("YouTube", "X", "Bluesky", "Mastodon", "Reddit", "Telegram public channels", "RSS/Atom"):
        assert name in text, name


def test_plain_removes_markup_and_keeps_words() -> None:
    assert plain("The ``socialhub`` command") == "The socialhub command"
    assert plain("each with at least `text`") == "each with at least 'text'"
    assert plain("see :ref:`config` and **this**") == "see config and this"
    assert plain(None) is None and plain("") == ""
