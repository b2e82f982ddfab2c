"""Session replay: human-timed traces through the simulator in simulated time (see sessions.py)."""
