"""The ground floor: facts both the app and the simulator need (models, prices, tokens, rules)."""
