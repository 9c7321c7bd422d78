"""``python -m inspraak`` is the ``inspraak`` command."""

from inspraak.cli import main

__all__: list[str] = []

main()
