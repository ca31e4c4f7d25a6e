# micropython.mk: the _mqttas user C module for MicroPython's make-based
# ports (unix, qemu, stm32, ...). From the port's directory of a MicroPython
# checkout:
#
#   make USER_C_MODULES=/path/to/mqttas \
#        FROZEN_MANIFEST=/path/to/mqttas/ports/<port>/manifest.py
#
# USER_C_MODULES is the repository root, where MicroPython finds
# micropython-module/micropython.mk (MicroPython before commit 9d7845eecf,
# July 2026, looks only one directory down, and builds without the module
# if given this directory). micropython-module/README.md gives the commands
# per port. Builds the Rust core as a static library for the port's CPU
# with cargo and links it:
# no_std for bare metal, with std on a host (unix), where a no_std library
# would lack the unwinding personality its precompiled core refers to.
#
# MQTTAS_FEATURES (on the make line or in the environment) picks the
# features, e.g. MQTTAS_FEATURES="v5 qos2 wlan tls"; unset, `default`
# (micropython-module/features.py lists the knobs): the cargo features, the
# -DMQTTAS_WITH_* flags of _mqttas.c and the library functions it calls
# come from it, and the package's manifest.py reads the same variable. The
# Rust target is derived
# from the port's -mcpu (the host triple when there is none);
# MQTTAS_RUST_TARGET=... (on the make line or in the environment) chooses
# it; install it with `rustup target add`. MQTTAS_CARGO overrides the
# cargo command. cargo fetches the crate `heapless` from crates.io on the
# first build (see the README for offline builds).
#
# The library linked is libmqttas.a made into one object whose only global
# symbols are mqttas_*: Rust's compiler_builtins brings its own memcpy,
# memmove, memcmp, strlen, libm (log2f, ...) and __aeabi_* helpers, which
# must not stand in for the C library's in the rest of the firmware.

MQTTAS_MOD_DIR := $(USERMOD_DIR)
MQTTAS_ROOT := $(abspath $(MQTTAS_MOD_DIR)/..)

SRC_USERMOD_C += $(MQTTAS_MOD_DIR)/_mqttas.c
CFLAGS_USERMOD += -I$(MQTTAS_ROOT)/include

MQTTAS_LIB := $(BUILD)/mqttas/libmqttas.a

# The knobs: an unknown one stops the build (features.py says which exist).
MQTTAS_FEATURES_PY := $(or $(PYTHON),python3) $(MQTTAS_MOD_DIR)/features.py
MQTTAS_CARGO_FEATURES := $(shell $(MQTTAS_FEATURES_PY) cargo "$(MQTTAS_FEATURES)")
ifeq ($(MQTTAS_CARGO_FEATURES),)
$(error _mqttas: MQTTAS_FEATURES="$(MQTTAS_FEATURES)": see the error above)
endif
CFLAGS_USERMOD += $(shell $(MQTTAS_FEATURES_PY) cflags "$(MQTTAS_FEATURES)")
# A change of knobs rebuilds the library (and so the module's object).
MQTTAS_STAMP := $(BUILD)/mqttas/features
MQTTAS_STAMP_OLD := $(shell cat $(MQTTAS_STAMP) 2>/dev/null)
ifneq ($(MQTTAS_STAMP_OLD),$(MQTTAS_CARGO_FEATURES))
$(shell mkdir -p $(BUILD)/mqttas && echo '$(MQTTAS_CARGO_FEATURES)' > $(MQTTAS_STAMP))
endif

# Hosted ports (unix) take the std build and link what std needs.
MQTTAS_HOSTED ?= $(if $(filter unix,$(notdir $(CURDIR))),1,0)
ifeq ($(MQTTAS_HOSTED),1)
LIBS_USERMOD += $(MQTTAS_LIB) -lgcc_s -lutil -lrt -lpthread -lm -ldl
else
# Bare-metal ports put LDFLAGS before the objects on the link line, and some
# (qemu) replace LIBS: naming the C module's calls with -u makes the linker
# take them (and what they need) from the archive wherever it stands. Only
# the calls its #if blocks keep with these knobs.
MQTTAS_SYMBOLS := $(shell $(MQTTAS_FEATURES_PY) symbols "$(MQTTAS_FEATURES)")
LDFLAGS_USERMOD += $(addprefix -u ,$(MQTTAS_SYMBOLS)) $(MQTTAS_LIB)
endif

# Deferred (=): the port's CFLAGS are complete only when the rule runs.
MQTTAS_CPU = $(patsubst -mcpu=%,%,$(firstword $(filter -mcpu=%,$(CFLAGS))))
MQTTAS_HARDFP = $(filter -mfloat-abi=hard,$(CFLAGS))
MQTTAS_RUST_TARGET ?= $(strip \
    $(if $(and $(MQTTAS_CPU),$(filter 0,$(MQTTAS_HOSTED))),\
    $(if $(filter cortex-m0 cortex-m0plus cortex-m1,$(MQTTAS_CPU)),thumbv6m-none-eabi,\
    $(if $(filter cortex-m3,$(MQTTAS_CPU)),thumbv7m-none-eabi,\
    $(if $(filter cortex-m4 cortex-m7,$(MQTTAS_CPU)),thumbv7em-none-eabi$(if $(MQTTAS_HARDFP),hf),\
    $(if $(filter cortex-m33 cortex-m55 cortex-m85,$(MQTTAS_CPU)),thumbv8m.main-none-eabi$(if $(MQTTAS_HARDFP),hf),\
    $(error _mqttas: no Rust target known for -mcpu=$(MQTTAS_CPU): set MQTTAS_RUST_TARGET))))),\
    $(shell rustc -vV | sed -n 's/^host: //p')))
MQTTAS_CARGO ?= cargo
MQTTAS_CARGO_ARGS = --no-default-features --features $(if $(filter 1,$(MQTTAS_HOSTED)),std$(MQTTAS_COMMA))$(MQTTAS_CARGO_FEATURES)
MQTTAS_COMMA := ,

# Rules defined here must not become the port's default goal.
MQTTAS_SAVED_GOAL := $(.DEFAULT_GOAL)

MQTTAS_RUST_LIB = $(abspath $(BUILD))/mqttas/target/$(MQTTAS_RUST_TARGET)/release/libmqttas.a

# cargo, then a partial link of the whole archive into one object (its
# references to compiler_builtins resolved inside it) whose symbols other
# than mqttas_* are made local. The LLVM bitcode that compiler_builtins'
# objects carry goes (the linker drops it anyway; binutils' LLVM plugin
# may choke on it).
$(MQTTAS_LIB): $(MQTTAS_ROOT)/Cargo.toml $(MQTTAS_ROOT)/Cargo.lock $(shell find $(MQTTAS_ROOT)/src -name '*.rs') $(MQTTAS_STAMP)
	$(ECHO) "CARGO libmqttas.a ($(MQTTAS_RUST_TARGET), features $(MQTTAS_CARGO_FEATURES))"
	$(Q)mkdir -p $(@D)
	$(Q)$(MQTTAS_CARGO) rustc --quiet --manifest-path $(MQTTAS_ROOT)/Cargo.toml --release --lib \
		$(MQTTAS_CARGO_ARGS) --crate-type staticlib \
		--target $(MQTTAS_RUST_TARGET) --target-dir $(abspath $(BUILD))/mqttas/target
	$(Q)$(CC) -nostdlib -r -Wl,-z,noexecstack -o $(@D)/mqttas.o \
		-Wl,--whole-archive $(MQTTAS_RUST_LIB) -Wl,--no-whole-archive
	$(Q)$(OBJCOPY) --wildcard --keep-global-symbol='mqttas_*' \
		--remove-section=.llvmbc --remove-section=.llvmcmd $(@D)/mqttas.o
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $(@D)/mqttas.o

# The module's object needs the library first (the link step takes it from
# LIBS). The object's path depends on the MicroPython version.
$(BUILD)/$(notdir $(MQTTAS_MOD_DIR))/_mqttas.o $(BUILD)/$(MQTTAS_MOD_DIR)/_mqttas.o: $(MQTTAS_LIB)

.DEFAULT_GOAL := $(MQTTAS_SAVED_GOAL)
