"""A real server for the record tests (the web tests' helpers, reused): the app on a real
socket with an embedded engine on tmp_path."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "web"))

from web_support import make_server, server  # noqa: E402, F401 (fixtures)

