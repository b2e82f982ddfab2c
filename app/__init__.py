"""Cachescope: a desktop chat app for Claude that makes prompt caching visible."""

__version__ = "0.1.0"
