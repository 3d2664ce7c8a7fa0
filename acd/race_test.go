//go:build race

package acd

// The race detector slows the engine tenfold: latency bounds are not
// asserted and long runs are shortened under it.
const raceEnabled = true
