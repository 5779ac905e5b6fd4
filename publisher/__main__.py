"""Entry point for ``python -m publisher``."""

from publisher.app.cli import main

if __name__ == "__main__":
    main()
