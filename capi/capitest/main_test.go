package capitest

import (
	"os"
	"testing"
)

// TestMain keeps the library's log (expected 504s, host errors) out of the
// test output unless SPIKARD_TEST_LOG is set.
func TestMain(m *testing.M) {
	if os.Getenv("SPIKARD_TEST_LOG") == "" {
		QuietLogs(nil)
	}
	os.Exit(m.Run())
}
