"""``python -m ganzoo`` (and ``torchrun -m ganzoo``) run the command line."""

from ganzoo.cli import main

if __name__ == "__main__":
    main()
