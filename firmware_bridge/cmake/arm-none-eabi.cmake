# Cortex-M4F (hard float) with Debian's gcc-arm-none-eabi + libnewlib-arm-none-eabi.
#   cmake -S firmware_bridge -B build/bridge-m4 -DCMAKE_TOOLCHAIN_FILE=firmware_bridge/cmake/arm-none-eabi.cmake
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(EK_M4_FLAGS "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -ffunction-sections -fdata-sections")
set(CMAKE_C_FLAGS_INIT "${EK_M4_FLAGS}")
set(CMAKE_ASM_FLAGS_INIT "${EK_M4_FLAGS}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${EK_M4_FLAGS}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
