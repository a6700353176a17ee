"""Local replay server for the seven platform APIs (Mastodon, Bluesky, YouTube, X, Reddit, Telegram,
RSS) with fictional demo data.

    from socialhub.replay import ReplayServer
    with ReplayServer() as server:           # 127.0.0.1, ephemeral port, demo_data.yaml
        server.base_url("mastodon")          # -> http://127.0.0.1:PORT/mastodon

Run it in the foreground with ``python -m socialhub.replay --help``.
"""

from socialhub.replay.server import DEMO_DATA, PLATFORM_APIS, ReplayServer, load_data

__all__ = ["DEMO_DATA", "PLATFORM_APIS", "ReplayServer", "load_data"]
