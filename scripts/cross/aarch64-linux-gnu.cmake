# CMake toolchain for the Pi wheels (scripts/pi_wheels.py): Debian's cross compiler for 64-bit ARM
# (apt: g++-aarch64-linux-gnu), linking against its glibc in /usr/aarch64-linux-gnu. libstdc++ and
# libgcc are linked statically, so the extension needs only glibc from the Pi (auditwheel then
# tags the wheel by the glibc symbols it uses). --exclude-libs hides that copy's symbols: rpio-core
# and rpio-pwm each carry one, and exported, the loader would bind one module's references into the
# other's copy (seen under emulation: std::ostream lost its number formatting, badbit).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static-libstdc++ -static-libgcc -Wl,--exclude-libs,ALL")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "-static-libstdc++ -static-libgcc -Wl,--exclude-libs,ALL")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static-libstdc++ -static-libgcc -Wl,--exclude-libs,ALL")
