//go:build race

package e2e

// raceEnabled: the tests run under -race, so the server is built with it
// too and its data races fail the test that provoked them.
const raceEnabled = true
