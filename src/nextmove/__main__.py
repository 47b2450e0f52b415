"""``python -m nextmove``: the same as the ``nextmove`` command."""

from nextmove.cli.app import main

if __name__ == "__main__":
    main()
