"""The command line: ``nextmove``."""
