"""The broker's metrics: plain counters on the hot path, read into Prometheus' format at scrape time.

- ``counters``: the integers handlers and background services add to (``Traffic``, ``RequestMetrics``,
  ``Purgatory``, ``LogActivity``); no locks, no Prometheus objects, one attribute add per event.
  ``Metrics`` is the bundle of them one broker keeps (``Broker.metrics``).
- ``errors``: the error codes of any response message, found by a per-class plan.
- ``state``: the partition logs, group lag, connections and cluster health, read as plain rows.
- ``collector``: the Prometheus collector and registry (imported only when the HTTP listener is on).

Read API for the console (rates for live charts: poll and take differences)::

    traffic = metrics.traffic            # kbroker.metrics.counters.Traffic
    traffic.totals()                     # TrafficTotals(messages_in, bytes_in, bytes_out), broker-wide
    traffic.topic_totals()               # {topic: TrafficTotals}, topics with traffic since the start

Both return fresh frozen values (integers since the broker started); call them on the event loop.
The names scraped at ``/metrics`` and what each counts are in docs/metrics.md.
"""
