# Board manifest for rp2 firmware with mqtt_as frozen in, for the Pico W
# (RPI_PICO_W), the Pico 2 W (RPI_PICO2_W) and every rp2 board with its own
# boards/<BOARD>/manifest.py (W5100S_EVB_PICO, W5500_EVB_PICO, ...). Pass it
# to the port's make as FROZEN_MANIFEST=/path/to/mqttas/ports/rp2/manifest.py
# together with USER_C_MODULES (see README.md here).
#
# A FROZEN_MANIFEST replaces the board's own, so this includes it: the
# port's (asyncio, ...) and the board's packages (Pico W: bundle-networking,
# that is mip, requests, ntptime, webrepl; and aioble). For a board without
# a manifest.py of its own, include "$(PORT_DIR)/boards/manifest.py" instead.
# Relative paths are resolved against this file.
include("$(BOARD_DIR)/manifest.py")
# The features frozen (and built into _mqttas): MQTTAS_FEATURES on the
# make line, e.g. MQTTAS_FEATURES="default tls"; unset, this board's
# default set (micropython-module/README.md, "Feature knobs").
include("../../micropython-module/manifest.py", links="wlan")  # mqtt_as, default links: wlan
