# pydicom imports requests, whose urllib3 probes for IPv6 with a socket at import time: import it while
# collecting, before the unit tests block sockets (no traffic either way).
import pydicom  # noqa: F401
