"""Caching in the programs people run, read from what they leave on disk (issue 38). Qt-free,
network-free, and read-only on every folder it looks into.

- ``calls``: one billed request (``Call``), its price at its date (genai-prices);
- ``claude_code``: Claude Code's folders, projects and session files, listed newest first;
- ``transcript``: a session file read as a stream, request by request (repeated lines of one
  response counted once), in bounded memory, growing files read from where the last read ended;
- ``misses``: why a request read less than the one before it had cached, and what that cost;
- ``rewrites``: the line for a prefix rewritten after a pause, against a keep-alive;
- ``summary``: hit rate, reads per write, spend per day, per subagent and per MCP server;
- ``sources``: every input the gate takes (a Claude Code session or project, a captured run of
  the inspector, a conversation export), checked and bounded;
- ``gate``: whether a run holds a minimum hit rate and a miss budget, and why not.
"""
