"""``python -m falaj`` runs the CLI."""

from falaj.cli.app import main

main()
