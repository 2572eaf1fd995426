"""`python -m tamrin.calc ...` = `tamrin calc ...`, with user errors on one line."""
import sys

from tamrin.calc.cli import main
from tamrin.errors import UserError

try:
    sys.exit(main())
except UserError as e:
    print(f"tamrin calc: error: {e}", file=sys.stderr)
    sys.exit(2)
