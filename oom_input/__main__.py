"""``python -m oom_input``."""

import sys

from oom_input.cli import main

sys.exit(main())
