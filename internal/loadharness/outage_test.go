package loadharness

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// fakeProc stands in for a collector process.
type fakeProc struct {
	n            int
	stops, kills atomic.Int32
}

func (p *fakeProc) stop(kill bool) (float64, float64) {
	p.stops.Add(1)
	if kill {
		p.kills.Add(1)
	}
	return 1, float64(p.n)
}

func (p *fakeProc) usage() (float64, float64) { return 1, float64(p.n) }

// starter hands out fakeProcs; hold makes start wait for release or the
// end of its context, and still return a process (one that came up just as
// the run was canceled).
type starter struct {
	mu      sync.Mutex
	procs   []*fakeProc
	hold    bool
	entered chan struct{}
	release chan struct{}
}

func newStarter(hold bool) *starter {
	return &starter{hold: hold, entered: make(chan struct{}, 8), release: make(chan struct{})}
}

func (s *starter) start(ctx context.Context) (proc, error) {
	s.entered <- struct{}{}
	s.mu.Lock()
	hold := s.hold
	s.mu.Unlock()
	if hold {
		select {
		case <-s.release:
		case <-ctx.Done():
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &fakeProc{n: len(s.procs) + 1}
	s.procs = append(s.procs, p)
	return p, nil
}

func (s *starter) all() []*fakeProc {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*fakeProc(nil), s.procs...)
}

func newTestOutage(s *starter, length time.Duration) (*outage, *live, *atomic.Int32) {
	first, _ := s.start(context.Background())
	<-s.entered
	col := &live{c: first}
	var cleared atomic.Int32
	o := newOutage()
	o.set = func() error { return nil }
	o.clear = func() error { cleared.Add(1); return nil }
	o.length, o.kill, o.col, o.start = length, true, col, s.start
	return o, col, &cleared
}

// Every collector started is stopped exactly once: the ones the outage
// replaced by SIGKILL, the last one when the run closes.
func assertAllStopped(t *testing.T, s *starter, started int) {
	t.Helper()
	procs := s.all()
	require.Len(t, procs, started)
	for i, p := range procs {
		assert.EqualValues(t, 1, p.stops.Load(), "collector %d stopped %d times", i+1, p.stops.Load())
		wantKill := int32(0)
		if i < started-1 {
			wantKill = 1
		}
		assert.Equal(t, wantKill, p.kills.Load(), "collector %d", i+1)
	}
}

func TestWithOutage(t *testing.T) {
	errLoad := errors.New("load generator failed")
	tests := []struct {
		name    string
		hold    bool          // the restart waits
		length  time.Duration // of the outage
		load    func(t *testing.T, o *outage, s *starter, col *live) error
		wantErr error
		started int // collectors, the first included
		cleared int32
	}{
		{
			// The load fails while the outage restarts the collector: Run
			// must wait for the restart and stop the new collector.
			name: "load fails during the restart", hold: true, length: 0,
			load: func(t *testing.T, o *outage, s *starter, col *live) error {
				o.trigger()
				<-s.entered // the restart is under way
				return errLoad
			},
			wantErr: errLoad, started: 2,
		},
		{
			name: "load fails before the outage", length: time.Hour,
			load: func(t *testing.T, o *outage, s *starter, col *live) error {
				return errLoad
			},
			wantErr: errLoad, started: 1,
		},
		{
			// Many workers report progress at once; the usage is read
			// while the collector is replaced.
			name: "load reads usage during the restart", length: 0,
			load: func(t *testing.T, o *outage, s *starter, col *live) error {
				var wg sync.WaitGroup
				for range 4 {
					wg.Go(func() {
						for range 100 {
							o.trigger()
							col.usage()
						}
					})
				}
				wg.Wait()
				<-s.entered
				return nil
			},
			started: 2, cleared: 1,
		},
		{
			name: "load ends before the outage point: the outage still runs", length: 0,
			load: func(t *testing.T, o *outage, s *starter, col *live) error {
				return nil
			},
			started: 2, cleared: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			s := newStarter(false)
			o, col, cleared := newTestOutage(s, tt.length)
			s.hold = tt.hold // the restarts, not the first start
			// A deadline that names the failure, instead of the go test timeout.
			ret := make(chan error, 1)
			go func() {
				ret <- withOutage(context.Background(), o, func(context.Context) error { return tt.load(t, o, s, col) })
			}()
			var err error
			select {
			case err = <-ret:
			case <-time.After(30 * time.Second):
				t.Fatal("withOutage did not return in 30s: the outage never ran to its end, or was not canceled")
			}
			assert.ErrorIs(t, err, tt.wantErr)
			col.close() // Run's deferred close
			assertAllStopped(t, s, tt.started)
			assert.Equal(t, tt.cleared, cleared.Load())
			assert.ErrorIs(t, col.restart(context.Background(), s.start), errClosed, "no restart once the run is over")
		})
	}
}

func TestLiveUsageAddsStoppedCollectors(t *testing.T) {
	s := newStarter(false)
	o, col, _ := newTestOutage(s, 0)
	require.NoError(t, col.restart(context.Background(), o.start))
	<-s.entered
	cpu, peak := col.usage()
	assert.Equal(t, 2.0, cpu, "the killed collector's CPU and the live one's")
	assert.Equal(t, 2.0, peak, "the larger peak")
	col.close()
	cpu, peak = col.usage()
	assert.Equal(t, 2.0, cpu)
	assert.Equal(t, 2.0, peak)
}
