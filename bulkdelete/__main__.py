"""``python -m bulkdelete`` is ``bulkdelete``."""

from bulkdelete.cli import main

if __name__ == "__main__":
    main()
