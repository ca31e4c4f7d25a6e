# micropython.cmake: the _mqttas user C module for MicroPython's CMake ports
# (esp32, rp2). From the port's directory of a MicroPython checkout, in a
# new build directory (these ports run CMake only when the build directory
# is created: USER_C_MODULES given to an existing one is silently ignored):
#
#   make BOARD=... BUILD=build-mqttas \
#        USER_C_MODULES=/path/to/mqttas/micropython-module/micropython.cmake \
#        FROZEN_MANIFEST=/path/to/mqttas/ports/<port>/manifest.py
#
# Builds the Rust core as a no_std static library for the chip with cargo
# and links it. The Rust target follows IDF_TARGET (ESP-IDF) or
# PICO_PLATFORM (pico-sdk). Environment variables (read when CMake
# configures the build directory; the port's make passes its command
# line's variables on in the environment too) make the choices:
#   MQTTAS_FEATURES      the feature knobs, e.g. "v5 qos2 wlan tls"; unset,
#                        `default` (micropython-module/features.py lists
#                        them): the cargo features and the C module's
#                        -DMQTTAS_WITH_* flags; the package's manifest.py
#                        reads the same variable when it freezes modules
#   MQTTAS_RUST_TARGET   the Rust target triple
#   MQTTAS_CARGO         the cargo command, e.g. "cargo +esp" (Xtensa chips
#                        use the `esp` toolchain from espup by default)
# cargo fetches the crate `heapless` from crates.io on the first build (see
# micropython-module/README.md for offline builds).
#
# The library linked is libmqttas.a made into one object whose only global
# symbols are mqttas_*: Rust's compiler_builtins brings its own memcpy,
# memmove, memcmp, strlen, libm (log2f, ...) and __aeabi_* helpers, which
# must not stand in for the C library's in the rest of the firmware.

add_library(usermod_mqttas INTERFACE)
get_filename_component(MQTTAS_ROOT ${CMAKE_CURRENT_LIST_DIR}/.. ABSOLUTE)

target_sources(usermod_mqttas INTERFACE ${CMAKE_CURRENT_LIST_DIR}/_mqttas.c)
target_include_directories(usermod_mqttas INTERFACE ${MQTTAS_ROOT}/include)

set(MQTTAS_CARGO_EXTRA "")

# The feature knobs: an unknown one stops the configuration.
if(NOT DEFINED MQTTAS_FEATURES AND DEFINED ENV{MQTTAS_FEATURES})
    set(MQTTAS_FEATURES "$ENV{MQTTAS_FEATURES}")
endif()
if(NOT Python3_EXECUTABLE)
    find_package(Python3 REQUIRED COMPONENTS Interpreter)
endif()
foreach(MQTTAS_WHAT cargo cflags)
    execute_process(
        COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/features.py ${MQTTAS_WHAT} "${MQTTAS_FEATURES}"
        OUTPUT_VARIABLE MQTTAS_OUT OUTPUT_STRIP_TRAILING_WHITESPACE
        ERROR_VARIABLE MQTTAS_ERR RESULT_VARIABLE MQTTAS_RC)
    if(MQTTAS_RC)
        message(FATAL_ERROR "_mqttas: ${MQTTAS_ERR}")
    endif()
    set(MQTTAS_${MQTTAS_WHAT} "${MQTTAS_OUT}")
endforeach()
separate_arguments(MQTTAS_DEFINES UNIX_COMMAND "${MQTTAS_cflags}")
list(TRANSFORM MQTTAS_DEFINES REPLACE "^-D" "")
target_compile_definitions(usermod_mqttas INTERFACE ${MQTTAS_DEFINES})
message(STATUS "_mqttas: features ${MQTTAS_cargo}")
if(NOT MQTTAS_RUST_TARGET AND DEFINED ENV{MQTTAS_RUST_TARGET})
    set(MQTTAS_RUST_TARGET $ENV{MQTTAS_RUST_TARGET})
endif()
if(NOT MQTTAS_RUST_TARGET)
    if(IDF_TARGET)
        if(IDF_TARGET MATCHES "^esp32(s2|s3)?$")
            set(MQTTAS_RUST_TARGET xtensa-${IDF_TARGET}-none-elf)
        elseif(IDF_TARGET MATCHES "^esp32(c2|c3)$")
            set(MQTTAS_RUST_TARGET riscv32imc-unknown-none-elf)
        elseif(IDF_TARGET MATCHES "^esp32(c5|c6|c61|h2)$")
            set(MQTTAS_RUST_TARGET riscv32imac-unknown-none-elf)
        elseif(IDF_TARGET STREQUAL "esp32p4")
            set(MQTTAS_RUST_TARGET riscv32imafc-unknown-none-elf)
        endif()
    elseif(PICO_PLATFORM)
        if(PICO_PLATFORM STREQUAL "rp2040")
            set(MQTTAS_RUST_TARGET thumbv6m-none-eabi)
        elseif(PICO_PLATFORM MATCHES "^rp2350(-arm-s)?$")
            # pico-sdk builds Cortex-M33 code with -mfloat-abi=softfp: the
            # soft-float calling convention, which ...-eabihf would break.
            set(MQTTAS_RUST_TARGET thumbv8m.main-none-eabi)
        elseif(PICO_PLATFORM STREQUAL "rp2350-riscv")
            set(MQTTAS_RUST_TARGET riscv32imac-unknown-none-elf)
        endif()
    endif()
endif()
if(NOT MQTTAS_RUST_TARGET)
    message(FATAL_ERROR "_mqttas: no Rust target known for this build: set MQTTAS_RUST_TARGET")
endif()
message(STATUS "_mqttas: Rust target ${MQTTAS_RUST_TARGET}")
if(NOT MQTTAS_CARGO AND DEFINED ENV{MQTTAS_CARGO})
    separate_arguments(MQTTAS_CARGO UNIX_COMMAND "$ENV{MQTTAS_CARGO}")
endif()
if(MQTTAS_RUST_TARGET MATCHES "^xtensa-")
    # Xtensa is not in upstream Rust: espup's toolchain, core built from source.
    if(NOT MQTTAS_CARGO)
        set(MQTTAS_CARGO cargo +esp)
    endif()
    set(MQTTAS_CARGO_EXTRA -Zbuild-std=core)
elseif(NOT MQTTAS_CARGO)
    set(MQTTAS_CARGO cargo)
endif()

set(MQTTAS_TARGET_DIR ${CMAKE_BINARY_DIR}/mqttas/target)
set(MQTTAS_RUST_LIB ${MQTTAS_TARGET_DIR}/${MQTTAS_RUST_TARGET}/release/libmqttas.a)
set(MQTTAS_OBJ ${CMAKE_BINARY_DIR}/mqttas/mqttas.o)
set(MQTTAS_LIB ${CMAKE_BINARY_DIR}/mqttas/libmqttas.a)
file(GLOB_RECURSE MQTTAS_SOURCES ${MQTTAS_ROOT}/src/*.rs)
# cargo, then a partial link of the whole archive into one object (its
# references to compiler_builtins resolved inside it) whose symbols other
# than mqttas_* are made local. The LLVM bitcode that compiler_builtins'
# objects carry goes (the linker drops it anyway; binutils' LLVM plugin
# may choke on it).
add_custom_command(
    OUTPUT ${MQTTAS_LIB}
    COMMAND ${MQTTAS_CARGO} rustc --quiet --manifest-path ${MQTTAS_ROOT}/Cargo.toml --release --lib
            --no-default-features --features ${MQTTAS_cargo} --crate-type staticlib ${MQTTAS_CARGO_EXTRA}
            --target ${MQTTAS_RUST_TARGET} --target-dir ${MQTTAS_TARGET_DIR}
    COMMAND ${CMAKE_C_COMPILER} -nostdlib -r -Wl,-z,noexecstack -o ${MQTTAS_OBJ}
            -Wl,--whole-archive ${MQTTAS_RUST_LIB} -Wl,--no-whole-archive
    COMMAND ${CMAKE_OBJCOPY} --wildcard --keep-global-symbol=mqttas_*
            --remove-section=.llvmbc --remove-section=.llvmcmd ${MQTTAS_OBJ}
    COMMAND ${CMAKE_COMMAND} -E rm -f ${MQTTAS_LIB}
    COMMAND ${CMAKE_AR} rcs ${MQTTAS_LIB} ${MQTTAS_OBJ}
    DEPENDS ${MQTTAS_ROOT}/Cargo.toml ${MQTTAS_ROOT}/Cargo.lock ${MQTTAS_SOURCES}
    COMMENT "cargo: libmqttas.a for ${MQTTAS_RUST_TARGET}"
    VERBATIM
)
add_custom_target(mqttas_rust DEPENDS ${MQTTAS_LIB})
add_library(mqttas_rust_lib STATIC IMPORTED GLOBAL)
set_target_properties(mqttas_rust_lib PROPERTIES IMPORTED_LOCATION ${MQTTAS_LIB})
add_dependencies(mqttas_rust_lib mqttas_rust)

target_link_libraries(usermod_mqttas INTERFACE mqttas_rust_lib)
target_link_libraries(usermod INTERFACE usermod_mqttas)
