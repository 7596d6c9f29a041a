/* spikard.h compiles alone, pedantic C99, and every declaration is usable. */
#include "spikard.h"

typedef int (*respond_t)(uint64_t, int, const char *, size_t, const char *, size_t);
static const respond_t respond_ptr = spikard_respond;
static const spikard_request zero_request = {0};

int spikard_header_check(void) {
    return respond_ptr != 0 && zero_request.size == 0 && SPIKARD_OK == 0 && SPIKARD_ABI_VERSION > 0;
}
