"""``python -m fedassembly``: the same CLI as the ``fedassembly`` command."""

import sys

from fedassembly.cli import main

sys.exit(main())
