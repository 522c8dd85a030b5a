package loadkit

import (
	"os"
	"runtime/debug"
)

// generatorHeapLimit is the load generator's heap budget with its collector
// held off (HoldGeneratorGC).
const generatorHeapLimit = 2 << 30

// HoldGeneratorGC keeps the load generator's garbage collector from running
// until its heap reaches generatorHeapLimit (a few collections per run). The
// generator and the servers share two vCPUs, and its collections (at Go's
// default, several a second) stalled the goroutines that read responses and
// timed the calls, which showed up as the servers' p99. It is set in the
// process, not through GOGC, which the servers would inherit; an explicit
// GOGC leaves the generator as it is.
func HoldGeneratorGC() {
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(generatorHeapLimit)
}
