"""What the window offers, one feature per module: each attaches to the window (its widgets'
signals, its menu entries) and holds no state the window needs; the window only wires them."""
