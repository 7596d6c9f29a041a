#ifndef CAPITEST_HELPERS_H
#define CAPITEST_HELPERS_H
#include "spikard.h"

extern int capitest_freed;
extern int capitest_second_rc;
extern uint64_t capitest_last_id;

void capitest_count_free(void *data);
int capitest_poll(int fd, int timeout_ms);
spikard_handler_fn capitest_fn(int which);
int capitest_get_freed(void);
int capitest_get_second_rc(void);
uint64_t capitest_get_last_id(void);
int capitest_get_foreign_rc(void);
int capitest_get_racers(void);
int capitest_handle_go(int64_t app, const char *name, uintptr_t key);

// The library's test hook (cside.c).
void spikard__test_hold_returned(unsigned us);

// Go (capitest.go).
extern void capitestGoHandler(spikard_request *r, uintptr_t data);
#endif
