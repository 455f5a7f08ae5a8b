"""Sub-commands of desktop-audit; each module has register(subparsers)."""
