# Board manifest for rp2 firmware with mqtt_as frozen in. Pass it to the
# port's make as FROZEN_MANIFEST=/path/to/mqttas/ports/rp2/manifest.py
# together with USER_C_MODULES (see README.md here). Relative paths are
# resolved against this file by MicroPython's manifest tool.
include("$(PORT_DIR)/boards/manifest.py")  # the port's own: asyncio, network, ...
include("../../micropython-module/manifest.py")  # the mqtt_as package
