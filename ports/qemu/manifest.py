# Manifest for MicroPython's qemu port (e.g. BOARD=MPS2_AN500) with mqtt_as
# frozen in. From ports/qemu of a MicroPython checkout (see README.md here):
#
#   make BOARD=MPS2_AN500 USER_C_MODULES=/path/to/mqttas \
#        FROZEN_MANIFEST=/path/to/mqttas/ports/qemu/manifest.py
#
# The qemu port builds without the _asyncio C module (MICROPY_PY_ASYNCIO is
# 0 in its mpconfigport.h) and its default manifest holds only the test
# modules, so asyncio is frozen here whole: the package and task.py, the
# pure-Python Task and TaskQueue that _asyncio replaces on other ports.
include("$(MPY_DIR)/extmod/asyncio")
package("asyncio", ("task.py",), base_path="$(MPY_DIR)/extmod", opt=3)
# The features frozen (and built into _mqttas): MQTTAS_FEATURES on the
# make line, e.g. MQTTAS_FEATURES="default tls"; unset, this board's
# default set (micropython-module/README.md, "Feature knobs").
include("../../micropython-module/manifest.py")  # mqtt_as, default links: the host socket link only
