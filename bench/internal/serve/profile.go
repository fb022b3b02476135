package serve

import (
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

// ProfileCPU starts a CPU profile written to path, at once or, with
// onSignal, from each SIGUSR1 to the next SIGUSR2 (the load tool's
// -signal-profile sends them around a measurement). It returns the
// function that ends profiling and closes the file.
func ProfileCPU(path string, onSignal bool) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if onSignal {
		return profileOnSignal(f, nil), nil
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// profileOnSignal profiles into f from each SIGUSR1 to the next SIGUSR2,
// calling toggled (if not nil) after each start or stop, and returns the
// function that ends profiling and closes f.
func profileOnSignal(f *os.File, toggled func(on bool)) (stop func()) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2)
	done := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		for {
			select {
			case s := <-sigs:
				on := s == syscall.SIGUSR1
				if on {
					_ = pprof.StartCPUProfile(f) // fails harmlessly if already on
				} else {
					pprof.StopCPUProfile()
				}
				if toggled != nil {
					toggled(on)
				}
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(sigs)
		close(done)
		<-ended
		pprof.StopCPUProfile()
		f.Close()
	}
}
