# Freeze the mqtt_as package into the firmware. In a board manifest:
#
#     include("$(PORT_DIR)/boards/manifest.py")   # the port's own (asyncio, ...)
#     include("/path/to/mqttas/micropython-module/manifest.py")
#
# mqtt_as needs asyncio, which every port's default manifest includes.
package("mqtt_as")
