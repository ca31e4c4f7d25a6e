# Board manifest for Pyboard D firmware (PYBD_SF2, PYBD_SF3, PYBD_SF6) with
# mqtt_as frozen in. Pass it to the port's make as
# FROZEN_MANIFEST=/path/to/mqttas/ports/stm32/manifest.py together with
# USER_C_MODULES (see README.md here).
#
# A FROZEN_MANIFEST replaces the board's own, so this includes the one the
# three Pyboard D boards use (their mpconfigboard.mk names
# boards/PYBD_SF2/manifest.py): the port's (asyncio, ...), lcd160cr and
# bundle-networking (mip, requests, ntptime, webrepl). For another stm32
# board, include the manifest its mpconfigboard.mk gives as FROZEN_MANIFEST
# ("$(BOARD_DIR)/manifest.py" on most, "$(PORT_DIR)/boards/manifest.py" when
# it names none). Relative paths are resolved against this file.
include("$(PORT_DIR)/boards/PYBD_SF2/manifest.py")
# The features frozen (and built into _mqttas): MQTTAS_FEATURES on the
# make line, e.g. MQTTAS_FEATURES="default tls"; unset, this board's
# default set (micropython-module/README.md, "Feature knobs").
include("../../micropython-module/manifest.py", links="wlan")  # mqtt_as, default links: wlan
