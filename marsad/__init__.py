"""marsad (مرصد): topics and stance toward actors in Arabic news.

Importing the package first pins the offline environment (see :mod:`marsad.paths`), because
`datasets`, `evaluate` and `bentoml` read these variables when they are imported.
"""

from marsad.paths import configure_environment

configure_environment()

__version__ = "0.1.0"
