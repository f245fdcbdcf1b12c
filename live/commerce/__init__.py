"""Catalog, flash sales and orders: pure rules beside their Redis-backed stores."""
