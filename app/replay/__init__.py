"""What would it have cost: a session replayed, in simulated time, through the simulator and the
app's own rules, prices and engine, under every caching policy (issue 29).

- ``trace``: the session format (human-timed events), checked; built from a saved conversation
  (``from_conversation``) with what it had to assume said;
- ``policies``: what each tool sends (none, automatic, lm-deluge's pattern, Claude Code's layout,
  aider with keep-alive, the cookbook) and Cachescope's engine at given settings;
- ``runner``: one trace under one policy on a virtual loop (``vloop``), billed by the simulator;
- ``optimum``: the hindsight lower bound;
- ``report``: every policy for one session, with the sentence that says what would have paid.
"""
