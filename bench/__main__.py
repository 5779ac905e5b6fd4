"""``python -m bench``: run the benchmark suite and print the table."""

from bench.run import main

raise SystemExit(main())
