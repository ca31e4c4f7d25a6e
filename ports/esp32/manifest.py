# Board manifest for esp32 firmware with mqtt_as frozen in, for the boards
# that have no manifest.py of their own (ESP32_GENERIC and its _C3, _C6,
# _S2, _S3 siblings, ...). Pass it to the port's make as
# FROZEN_MANIFEST=/path/to/mqttas/ports/esp32/manifest.py together with
# USER_C_MODULES (see README.md here).
#
# A FROZEN_MANIFEST replaces the board's own, so this includes it: for these
# boards the port's (asyncio, bundle-networking, aioespnow, umqtt, ...). For
# a board with its own boards/<BOARD>/manifest.py, include
# "$(BOARD_DIR)/manifest.py" instead. Relative paths are resolved against
# this file.
include("$(PORT_DIR)/boards/manifest.py")
# The features frozen (and built into _mqttas): MQTTAS_FEATURES on the
# make line, e.g. MQTTAS_FEATURES="default tls"; unset, this board's
# default set (micropython-module/README.md, "Feature knobs").
include("../../micropython-module/manifest.py", links="wlan lan")  # mqtt_as, default links: wlan lan
