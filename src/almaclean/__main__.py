"""`python -m almaclean`: the `almaclean` command (the form next-step commands take when the
`almaclean` on the PATH is not this installation)."""
import sys

from almaclean.cli import main

sys.exit(main())
