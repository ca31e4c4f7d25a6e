# micropython.cmake: the _mqttas user C module for MicroPython's CMake ports
# (esp32, rp2):
#
#   make USER_C_MODULES=/path/to/mqttas/micropython-module/micropython.cmake \
#        FROZEN_MANIFEST=/path/to/your/manifest.py
#
# Builds the Rust core as a no_std static library for the chip with cargo
# (`--no-default-features --features ffi`) and links it. The Rust target
# follows IDF_TARGET (ESP-IDF) or PICO_PLATFORM (pico-sdk); set
# MQTTAS_RUST_TARGET to choose it, and MQTTAS_CARGO for the cargo command
# (Xtensa chips need the `esp` toolchain from espup: "cargo;+esp").

add_library(usermod_mqttas INTERFACE)
get_filename_component(MQTTAS_ROOT ${CMAKE_CURRENT_LIST_DIR}/.. ABSOLUTE)

target_sources(usermod_mqttas INTERFACE ${CMAKE_CURRENT_LIST_DIR}/_mqttas.c)
target_include_directories(usermod_mqttas INTERFACE ${MQTTAS_ROOT}/include)

set(MQTTAS_CARGO_EXTRA "")
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
            set(MQTTAS_RUST_TARGET thumbv8m.main-none-eabihf)
        elseif(PICO_PLATFORM STREQUAL "rp2350-riscv")
            set(MQTTAS_RUST_TARGET riscv32imac-unknown-none-elf)
        endif()
    endif()
endif()
if(NOT MQTTAS_RUST_TARGET)
    message(FATAL_ERROR "_mqttas: no Rust target known for this build: set MQTTAS_RUST_TARGET")
endif()
if(NOT MQTTAS_CARGO)
    if(MQTTAS_RUST_TARGET MATCHES "^xtensa-")
        # Xtensa is not in upstream Rust: espup's toolchain, core built from source.
        set(MQTTAS_CARGO cargo +esp)
        set(MQTTAS_CARGO_EXTRA -Zbuild-std=core)
    else()
        set(MQTTAS_CARGO cargo)
    endif()
endif()

set(MQTTAS_TARGET_DIR ${CMAKE_BINARY_DIR}/mqttas/target)
set(MQTTAS_LIB ${CMAKE_BINARY_DIR}/mqttas/libmqttas.a)
file(GLOB_RECURSE MQTTAS_SOURCES ${MQTTAS_ROOT}/src/*.rs)
add_custom_command(
    OUTPUT ${MQTTAS_LIB}
    COMMAND ${MQTTAS_CARGO} rustc --quiet --manifest-path ${MQTTAS_ROOT}/Cargo.toml --release --lib
            --no-default-features --features ffi --crate-type staticlib ${MQTTAS_CARGO_EXTRA}
            --target ${MQTTAS_RUST_TARGET} --target-dir ${MQTTAS_TARGET_DIR}
    COMMAND ${CMAKE_COMMAND} -E copy ${MQTTAS_TARGET_DIR}/${MQTTAS_RUST_TARGET}/release/libmqttas.a ${MQTTAS_LIB}
    DEPENDS ${MQTTAS_ROOT}/Cargo.toml ${MQTTAS_SOURCES}
    COMMENT "cargo: libmqttas.a for ${MQTTAS_RUST_TARGET}"
    VERBATIM
)
add_custom_target(mqttas_rust DEPENDS ${MQTTAS_LIB})
add_library(mqttas_rust_lib STATIC IMPORTED GLOBAL)
set_target_properties(mqttas_rust_lib PROPERTIES IMPORTED_LOCATION ${MQTTAS_LIB})
add_dependencies(mqttas_rust_lib mqttas_rust)

target_link_libraries(usermod_mqttas INTERFACE mqttas_rust_lib)
target_link_libraries(usermod INTERFACE usermod_mqttas)
