"""Platform connectors: one module per platform, one shared HTTP client (``http``).

Use ``socialhub.sources.registry.get_connector(platform, config)`` rather than importing a
connector class directly, so the pipeline stays platform-agnostic.
"""
