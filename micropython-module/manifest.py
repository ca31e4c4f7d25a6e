# Freeze the mqtt_as package into the firmware. Include it from a board
# manifest that also includes the manifest the board would use without a
# FROZEN_MANIFEST (a FROZEN_MANIFEST replaces it), which brings asyncio:
#
#     include("$(BOARD_DIR)/manifest.py")    # or the port's, see ports/*/manifest.py
#     include("/path/to/mqttas/micropython-module/manifest.py")
#
# ports/{unix,qemu,rp2,stm32,esp32}/manifest.py are such manifests. mqtt_as
# needs asyncio: the unix port's variant manifest and the qemu port's
# default one do not freeze it (see those two).
package("mqtt_as")
