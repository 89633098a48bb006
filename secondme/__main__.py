"""`python -m secondme` runs the CLI."""

from secondme.cli import main

raise SystemExit(main())
