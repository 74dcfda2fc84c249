"""Alma Analytics reports API: portfolio and PO line reports fetched instead of exported by hand.

protocol.py reads the API's answers (pure), client.py pages through a report over HTTP,
credentials.py finds the API key and the gateway, sources.py reads a nightly institution's
sources.toml, canonical.py writes what was fetched as the CSV almaclean then ingests like a file.
"""
