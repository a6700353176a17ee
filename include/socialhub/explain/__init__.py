"""``socialhub explain TARGET``: why was this post alerted, or not?

One report of everything the hub did with a post, found by its URL, ``platform:post_id`` or
alert id, with a one-line verdict on top (see ``report.py``). Looking is itself an audit event
(``access``: who, what, why), from the command line and from the auditors' page.

    urls.py     the target: a post URL for the seven platforms, platform:post_id, an alert id
    index.py    the local SQLite index that finds a post without scanning the store
    report.py   the report (a JSON-able dict), its verdict, and its text and HTML renderings
    cli.py      ``register(sub)``: the ``explain`` subcommand

The index is a cache, kept at ``<cache>/explain-<sha256 of the store location>.sqlite`` (``<cache>``:
``$SOCIALHUB_CACHE_DIR``, else ``<data dir>/cache``)
and updated incrementally on each call (only batch manifests, ledger entries and audit events not
yet indexed are read). Deleting it loses nothing: the next call rebuilds it from the store.
"""
