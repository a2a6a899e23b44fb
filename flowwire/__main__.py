"""`python -m flowwire`: the `flowwire` command."""

from .cli import main

raise SystemExit(main())
