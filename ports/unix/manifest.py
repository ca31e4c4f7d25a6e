# Manifest for MicroPython's unix port with mqtt_as frozen in. From
# ports/unix of a MicroPython checkout (see micropython-module/README.md):
#
#   make USER_C_MODULES=/path/to/mqttas \
#        FROZEN_MANIFEST=/path/to/mqttas/ports/unix/manifest.py
#
# The unix port has no boards/manifest.py: what its standard variant
# freezes is the variant manifest (mip, ssl: needs lib/micropython-lib) and
# asyncio, both included here. Relative paths are resolved against this
# file by MicroPython's manifest tool.
include("$(PORT_DIR)/variants/manifest.py")  # mip, ssl (from micropython-lib)
include("$(MPY_DIR)/extmod/asyncio")  # asyncio, which mqtt_as needs
# The features frozen (and built into _mqttas): MQTTAS_FEATURES on the
# make line, e.g. MQTTAS_FEATURES="default tls"; unset, this board's
# default set (micropython-module/README.md, "Feature knobs").
include("../../micropython-module/manifest.py")  # mqtt_as, default links: the host socket link only
