"""Plain widgets: each shows what it is given or subscribes to what it is built with; none
knows the window, the history or another feature."""
