"""Inspect any program's caching (issue 30): a loopback endpoint in front of the Messages API
(``proxy``) and what it makes of each request (``observer``); ``cachescope-inspect`` (``cli``)."""
