"""What would it have cost: a session replayed, in simulated time, through the simulator and the
app's own rules, prices and engine, under every caching policy (issue 29).

- ``trace``: the session format (human-timed events, branches included), checked;
- ``saved``: a conversation of this app as a trace, every branch in the order it was made, with
  what its history paid for the same requests;
- ``actor``, ``policies``: what each tool sends (none, automatic, lm-deluge's pattern, Claude
  Code's layout, aider with keep-alive, the cookbook); ``ours``: Cachescope's engine at given
  settings, driven through the window's controller (``app.workspace.chat.Chat``);
- ``runner``: one trace under one policy on a virtual loop (``vloop``), billed by the simulator;
- ``optimum``: the hindsight lower bound;
- ``report``: every policy for one session, with the sentence that says what would have paid;
  ``following``: what "Use ..." applies for a policy, or why it cannot; ``reasons``: why
  Cachescope's own row cost more or waited longer than another (``spending``).
"""
