"""The broker's optional HTTP listener (``http.listeners``): an aiohttp application in the broker's
own event loop serving ``/metrics``, and the mount point for other pages (the console) given as setups.

- ``app.build_app``: the application (``/metrics`` from a Prometheus registry, plus each setup's routes);
- ``listener.HttpListener``: binds it to the configured address and stops it.
"""
