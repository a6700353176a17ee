"""socialhub capacity (issue 19.4, started): the published limits, the accounts that fit them at each
polling interval, and a watchlist's planned load per scope (per Mastodon instance, per feed host)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from socialhub.cli import main
from socialhub.sources.limits import INTERVALS, LIMITS, accounts_that_fit, scope_of, watchlist_usage
from socialhub.watchlist import parse_watchlist


def test_every_platform_has_a_limit_and_the_unpublished_ones_say_so():
    from socialhub.models import PLATFORMS

    assert set(LIMITS) == set(PLATFORMS)
    assert {n for n, lim in LIMITS.items() if not lim.published} == {"telegram", "rss"}
    assert all(lim.source for lim in LIMITS.values())


@pytest.mark.parametrize("platform, interval, expected", [
    ("mastodon", "critical", 50),      # 300 per 15 min, half of it, every 5 min, 1 request a poll
    ("mastodon", "normal", 600),
    ("x", "high", 750),                # 1500 per 15 min, half, every 15 min
    ("reddit", "critical", 250),       # 1000 per 10 min, half, every 5 min
    ("youtube", "normal", 416),        # 10,000 units a day, half, 24 polls a day at 0.5 units each
])
def test_accounts_that_fit(platform, interval, expected):
    assert accounts_that_fit(LIMITS[platform], INTERVALS[interval]) == expected


def test_scopes_and_the_watchlist_load_per_instance():
    assert scope_of("mastodon", "a@Mastodon.Social") == "mastodon.social"
    assert scope_of("rss", "https://News.example/feed.xml") == "news.example"
    assert scope_of("x", "someone") == "all"
    base = ("display_name: A\n    force: met\n    team: t\n    owner: O\n    authorisation_ref: R\n"
            "    purpose: Public posts of a named group.\n    review_by: 2099-01-01\n")
    wl = parse_watchlist("accounts:\n" + "".join(
        f"  - platform: mastodon\n    account: a{i}@one.example\n    priority: critical\n    {base}" for i in range(60))
        + f"  - platform: mastodon\n    account: b@two.example\n    priority: low\n    {base}")
    usage = {u.scope: u for u in watchlist_usage(wl.accounts)}
    assert usage["one.example"].accounts == 60 and usage["one.example"].requests_per_hour == 720
    assert usage["one.example"].budget_per_hour == 600 and not usage["one.example"].fits
    assert usage["two.example"].fits and usage["two.example"].requests_per_hour == pytest.approx(1 / 6)


def test_the_command_prints_the_table_and_the_load(capsys, tmp_path):
    assert main(["capacity", "--no-watchlist"]) == 0
    out = capsys.readouterr().out
    assert "mastodon  300 req/15m" in out and "telegram  20 req/1m (assumed)" in out
    assert main(["capacity", "--share", "0"]) == 1
    assert "--share 0.0 must be above 0" in capsys.readouterr().err
    assert timedelta(minutes=5) == INTERVALS["critical"]


def test_the_planners_share_comes_from_the_setting_the_dag_uses(capsys, monkeypatch):
    """`socialhub capacity` without --share plans with SOCIALHUB_BUDGET_SHARE, as the collect DAG does."""
    def mastodon_line(share_env):
        if share_env is None:
            monkeypatch.delenv("SOCIALHUB_BUDGET_SHARE", raising=False)
        else:
            monkeypatch.setenv("SOCIALHUB_BUDGET_SHARE", share_env)
        assert main(["capacity", "--no-watchlist"]) == 0
        return next(li for li in capsys.readouterr().out.splitlines() if li.lstrip().startswith("mastodon"))

    half, most = mastodon_line(None), mastodon_line("0.9")
    assert half != most
    monkeypatch.setenv("SOCIALHUB_BUDGET_SHARE", "0.9")
    assert main(["capacity", "--no-watchlist", "--share", "0.5"]) == 0
    assert next(li for li in capsys.readouterr().out.splitlines() if li.lstrip().startswith("mastodon")) == half
