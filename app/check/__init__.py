"""``cachescope-check``: the gate for CI over what other programs (and this app) paid for, and
over traces replayed in simulated time (``app.agents.gate`` decides; this is its command line)."""
