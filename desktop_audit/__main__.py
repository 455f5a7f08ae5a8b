import sys

from desktop_audit.cli import main

sys.exit(main())
