"""Locust scenarios for `live` and the pure checks behind their verdict.

The pure modules (`frames`, `ledger`, `invariants`, `timeline`, `api`, `check`) import
neither locust nor gevent, so the test suite can import them; the locustfiles and
`channel`/`common`/`users`/`shapes` run only inside a locust process.
"""
