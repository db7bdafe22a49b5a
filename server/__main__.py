"""``python -m server`` is the ``visitscore`` command."""

from server.cli import main

main()
