"""The frozen bundle's entry point: the installed ``app`` package's own main."""

from app.__main__ import main

raise SystemExit(main())
