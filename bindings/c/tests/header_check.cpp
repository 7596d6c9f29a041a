// spikard.h compiles as C++ (extern "C", no C-only constructs).
#include "spikard.h"

int spikard_header_check_cxx() {
    spikard_request r = {};
    uint32_t (*abi)(void) = spikard_abi_version;
    return r.size == 0 && abi == &spikard_abi_version && SPIKARD_ENOTIMPL < 0;
}
