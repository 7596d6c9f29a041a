//go:build race

package jwt

// raceEnabled: the race detector drops pooled objects at random, so
// allocation counts do not hold.
const raceEnabled = true
