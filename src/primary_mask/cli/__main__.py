"""``python -m primary_mask.cli`` (and ``torchrun -m primary_mask.cli bake ...``)."""

import sys

from primary_mask.cli import main

sys.exit(main())
