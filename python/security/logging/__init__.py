"""The spec's import path for seclog: ``from security.logging import create_security_logger``.

Everything here is ``seclog``'s public API. (Only absolute imports: this package is named
like the standard library's ``logging`` but lives under ``security``.)
"""

from seclog import *  # noqa: F401,F403
from seclog import __all__  # noqa: F401
