"""An offline Anthropic Messages API that applies the real prompt-caching rules."""
