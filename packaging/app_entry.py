"""PyInstaller's entry script for the bundle: the same `secondme-app` as the installed console script."""

import sys

from secondme.ui.main import main

if __name__ == "__main__":
    sys.exit(main())
