"""``python -m socialhub.replay``: run the replay server in the foreground (Ctrl-C stops it)."""

from __future__ import annotations

import argparse
import sys
import threading

from socialhub.replay.server import DEMO_DATA, ReplayServer


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m socialhub.replay",
        description=(
            "Serve fictional Mastodon, Bluesky, YouTube, X, Reddit, Telegram and RSS accounts on 127.0.0.1 "
            "so the socialhub pipeline can be "
            "demonstrated and tested offline. Each platform lives under its own path prefix; point the "
            "platform's Airflow Connection (extra: {\"base_url\": ...}) at the printed base URL."),
        epilog=(
            "examples:\n"
            "  python -m socialhub.replay                 # ephemeral port, built-in demo data\n"
            "  python -m socialhub.replay --port 8787     # fixed port for an Airflow Connection\n"
            "  python -m socialhub.replay --data my.yaml  # your own accounts (same format as the demo file)\n"
            "  python -m socialhub.replay --latency 0.2 --jitter 0.05 --published-limits\n"
            "                                             # answer like real platforms: 150-250 ms, real limits\n"
            f"\ndemo data: {DEMO_DATA}"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (default 0: pick a free one)")
    parser.add_argument("--data", metavar="FILE", help="YAML data file (default: the built-in fictional demo data)")
    parser.add_argument("--latency", type=float, metavar="SECONDS",
                        help="delay every answer by this many seconds on average (default: $SOCIALHUB_REPLAY_LATENCY, "
                             "else 0; real platforms answer in 0.1-0.5 s)")
    parser.add_argument("--jitter", type=float, metavar="SECONDS",
                        help="spread the delay uniformly by up to this many seconds either side (default 0)")
    parser.add_argument("--seed", type=int, help="seed of the drawn delays (reproducible runs)")
    parser.add_argument("--published-limits", action="store_true",
                        help="enforce each platform's published rate limit (socialhub capacity) with 429s")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        server = ReplayServer(args.data, port=args.port, latency=args.latency, jitter=args.jitter,
                              seed=args.seed)
        if args.published_limits:
            server.enforce_published_limits()
        server.start()
    except (ValueError, KeyError) as exc:
        parser.error(str(exc))
    except OSError as exc:
        parser.error(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror}")
    print(f"socialhub replay server on http://127.0.0.1:{server.port} (FICTIONAL data; Ctrl-C to stop)")
    mean, jitter = server.latency(server.platforms()[0]) if server.platforms() else (0.0, 0.0)
    if mean or jitter:
        print(f"  latency {mean:g} s ± {jitter:g} s on every answer")
    if args.published_limits:
        print("  rate limits: each platform's published limit (socialhub capacity), 429 once used up")
    for platform in server.platforms():
        print(f"  {platform:<9} base_url={server.base_url(platform)}")
        print(f"  {'':<9} accounts: {', '.join(server.accounts(platform))}")
    sys.stdout.flush()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("stopping")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
