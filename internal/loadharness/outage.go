package loadharness

import (
	"context"
	"errors"
	"sync"
	"time"
)

// proc is a started collector, as the outage and Run see it.
type proc interface {
	// stop ends the process (SIGKILL when kill) and returns its CPU seconds
	// and peak RSS.
	stop(kill bool) (cpu, peak float64)
	// usage is the CPU seconds and peak RSS of the live process.
	usage() (cpu, peak float64)
}

// live is the running collector. The outage goroutine replaces it while
// Run reads it, so every access holds mu; once closed, nothing can start
// another one, so a collector restarted late is still stopped.
type live struct {
	mu        sync.Mutex
	c         proc
	closed    bool
	cpu, peak float64 // of the collectors already stopped
}

var errClosed = errors.New("the run is over: no collector is restarted")

// restart kills the collector and starts another with start.
func (l *live) restart(ctx context.Context, start func(context.Context) (proc, error)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errClosed
	}
	l.account(l.c.stop(true))
	l.c = nil
	c, err := start(ctx)
	if err != nil {
		return err
	}
	l.c = c
	return nil
}

// close stops the collector, if one runs, and prevents any restart.
func (l *live) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.c != nil {
		l.account(l.c.stop(false))
		l.c = nil
	}
}

// usage adds the live collector's CPU and peak RSS to those already
// stopped.
func (l *live) usage() (cpu, peak float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cpu, peak = l.cpu, l.peak
	if l.c != nil {
		c, p := l.c.usage()
		cpu, peak = cpu+c, max(peak, p)
	}
	return cpu, peak
}

func (l *live) account(cpu, peak float64) {
	l.cpu += cpu
	l.peak = max(l.peak, peak)
}

// outage is a scenario's fault schedule, run beside the load: once
// triggered, set the faults, optionally kill and restart the collector
// halfway, and clear the faults after length.
type outage struct {
	triggered chan struct{}
	once      sync.Once
	set       func() error // starts the faults
	clear     func() error // ends them
	length    time.Duration
	kill      bool
	col       *live
	start     func(context.Context) (proc, error)
}

func newOutage() *outage { return &outage{triggered: make(chan struct{})} }

// trigger starts the outage; safe from every load worker, and repeatedly.
func (o *outage) trigger() { o.once.Do(func() { close(o.triggered) }) }

// run waits for the trigger and plays the schedule; it returns early with
// ctx's error when ctx ends.
func (o *outage) run(ctx context.Context) error {
	select {
	case <-o.triggered:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := o.set(); err != nil {
		return err
	}
	if o.kill {
		if err := sleep(ctx, o.length/2); err != nil {
			return err
		}
		if err := o.col.restart(ctx, o.start); err != nil {
			return err
		}
		if err := sleep(ctx, o.length-o.length/2); err != nil {
			return err
		}
	} else if err := sleep(ctx, o.length); err != nil {
		return err
	}
	return o.clear()
}

// sleep waits d, or less when ctx ends first (then its error, even for 0).
func sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// withOutage runs load and, beside it, the outage (nil: none), and returns
// only once both are done. When load fails, the outage is canceled and
// waited for, so nothing is left running or restarting; a load that ends
// before the outage point triggers it, so the outage still happens.
func withOutage(ctx context.Context, o *outage, load func(context.Context) error) error {
	if o == nil {
		return load(ctx)
	}
	octx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- o.run(octx) }()
	if err := load(ctx); err != nil {
		cancel()
		<-done
		return err
	}
	o.trigger()
	return <-done
}
