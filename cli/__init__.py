"""The `dl` command line (installed as the package ``dlcore.cli``): Click + Rich, no maths."""
