"""The only package that imports redis: connection, embedded server, keys and scripts."""
