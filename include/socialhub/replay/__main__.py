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
            f"\ndemo data: {DEMO_DATA}"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (default 0: pick a free one)")
    parser.add_argument("--data", metavar="FILE", help="YAML data file (default: the built-in fictional demo data)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        server = ReplayServer(args.data, port=args.port).start()
    except (ValueError, KeyError) as exc:
        parser.error(str(exc))
    except OSError as exc:
        parser.error(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror}")
    print(f"socialhub replay server on http://127.0.0.1:{server.port} (FICTIONAL data; Ctrl-C to stop)")
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
