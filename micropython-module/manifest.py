# Freeze the mqtt_as package into the firmware: the modules of the chosen
# features only. Include it from a board manifest that also includes the
# manifest the board would use without a FROZEN_MANIFEST (a FROZEN_MANIFEST
# replaces it), which brings asyncio, and names the board's default links:
#
#     include("$(BOARD_DIR)/manifest.py")    # or the port's, see ports/*/manifest.py
#     include("/path/to/mqttas/micropython-module/manifest.py", links="wlan")
#
# ports/{unix,qemu,rp2,stm32,esp32}/manifest.py are such manifests. mqtt_as
# needs asyncio: the unix port's variant manifest and the qemu port's
# default one do not freeze it (see those two).
#
# The features: MQTTAS_FEATURES from the environment (the port's make
# passes its command line's variables on), the variable the C module's
# build reads too; unset, `default`: v5, qos2 and the board's `links`.
# features.py (beside this file) lists the knobs and the modules of each.
import importlib.util
import os

options.defaults(links="")
# The manifest tool runs this file in its own directory.
_spec = importlib.util.spec_from_file_location("mqttas_features", os.path.join(os.getcwd(), "features.py"))
_features = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_features)
package("mqtt_as", files=_features.modules(_features.resolve(os.environ.get("MQTTAS_FEATURES"), options.links)))
