//go:build race

package openapi_test

// raceDetector reports a test binary built with -race.
const raceDetector = true
