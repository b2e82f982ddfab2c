"""The async engine: turns, speculative warming, keep-alive, tools, typed failures."""
