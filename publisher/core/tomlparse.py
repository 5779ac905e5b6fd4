"""Front-matter TOML: the compiled ``tomli`` when installed, else the standard ``tomllib``.

Both parse the same TOML 1.0 with the same results and error messages (``tomllib`` is
``tomli`` 1.2 moved into the standard library); ``tests/test_perf.py`` compares them on
generated and hostile files.  ``tomli`` 2.x ships compiled wheels: about 2x faster.
"""

from __future__ import annotations

try:
    from tomli import TOMLDecodeError, loads
except ImportError:  # pragma: no cover - the fallback when tomli is not installed
    from tomllib import TOMLDecodeError, loads  # type: ignore[assignment]

__all__ = ["TOMLDecodeError", "loads"]
