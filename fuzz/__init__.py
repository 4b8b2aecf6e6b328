"""Long fuzz runs of the protocol core (``make fuzz``); the targets live in the tests."""
