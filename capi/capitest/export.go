package capitest

/*
#include "spikard.h"
*/
import "C"

//export capitestGoHandler
func capitestGoHandler(r *C.spikard_request, data C.uintptr_t) {
	goHandlers.Lock()
	fn := goHandlers.m[uintptr(data)]
	goHandlers.Unlock()
	if fn != nil {
		fn(view(r))
	}
}
