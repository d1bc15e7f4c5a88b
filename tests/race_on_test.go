//go:build race

package tests

// raceEnabled reports whether the test binary was built with -race. The
// race detector makes the app's code several times slower and hungrier for
// memory, so TestLoadNoLostUpdates runs a shorter load under it.
const raceEnabled = true
