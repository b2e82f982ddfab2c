"""The conversation model: system prompt, tools, messages of blocks, locked images."""
