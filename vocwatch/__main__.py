"""`python -m vocwatch` is the same as the `vocwatch` console script."""

from vocwatch.cli import main

main()
