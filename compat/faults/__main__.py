import sys

from compat.faults.campaign import main

sys.exit(main())
