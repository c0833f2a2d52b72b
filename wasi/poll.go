package wasi

import (
	"context"
	"math"
	"time"

	"github.com/tetratelabs/wazero/api"
)

// maxSubscriptions bounds poll_oneoff's nsubscriptions; the guest's memory
// bounds it too, this keeps the work per call small.
const maxSubscriptions = 1 << 16

// pollOneoff answers fd subscriptions at once: stdio and files are always
// ready to read and write (as in wasmtime), an fd error is an event with
// that errno. Without a ready fd it sleeps until the first clock
// subscription is due, and ends the call as soon as ctx is done.
func pollOneoff(ctx context.Context, st *state, mem api.Memory, stack []uint64) uint32 {
	in, out, n, res := uint32(stack[0]), uint32(stack[1]), uint32(stack[2]), uint32(stack[3])
	if n == 0 {
		return errnoInval
	}
	if n > maxSubscriptions {
		return errnoInval
	}
	subs, ok := mem.Read(in, n*sizeSubscription)
	if !ok {
		return errnoFault
	}
	events, ok := mem.Read(out, n*sizeEvent)
	if !ok || !fits(mem, res, 4) {
		return errnoFault
	}
	var nevents uint32
	timeout := int64(math.MaxInt64)
	haveClock := false
	for i := uint32(0); i < n; i++ {
		s := subs[i*sizeSubscription:]
		switch s[8] {
		case eventClock:
			d, ok := clockTimeout(s)
			if !ok {
				continue
			}
			if d < timeout {
				timeout = d
			}
			haveClock = true
		case eventFdRead, eventFdWrite:
		default:
			return errnoInval
		}
	}
	type pending struct {
		userdata uint64
		typ      uint8
		errno    uint16
		nbytes   uint64
	}
	for i := uint32(0); i < n; i++ {
		s := subs[i*sizeSubscription:]
		typ := s[8]
		if typ == eventClock {
			if _, ok := clockTimeout(s); !ok {
				putEvent(events[nevents*sizeEvent:], le.Uint64(s), errnoNotsup, eventClock, 0)
				nevents++
			}
			continue
		}
		ev := pending{userdata: le.Uint64(s), typ: typ}
		e := st.get(le.Uint32(s[16:]))
		switch {
		case e == nil:
			ev.errno = errnoBadf
		case e.base&rightPollFdReadwrite == 0 && e.kind != kindStdin && e.kind != kindStdout:
			ev.errno = errnoNotcapable
		case typ == eventFdRead && e.kind == kindFile && e.ftype == ftRegular:
			if s, serr := e.file.Stat(); serr == 0 {
				if pos, perr := e.file.Seek(0, 1); perr == 0 && s.Size > pos {
					ev.nbytes = uint64(s.Size - pos)
				}
			}
		}
		putEvent(events[nevents*sizeEvent:], ev.userdata, ev.errno, ev.typ, ev.nbytes)
		nevents++
	}
	if nevents == 0 && haveClock {
		if errno := st.sleep(ctx, time.Duration(timeout)); errno != 0 {
			return errno
		}
	}
	if nevents == 0 || timeout == 0 {
		for i := uint32(0); i < n; i++ {
			s := subs[i*sizeSubscription:]
			if s[8] != eventClock {
				continue
			}
			d, ok := clockTimeout(s)
			if ok && d <= timeout {
				putEvent(events[nevents*sizeEvent:], le.Uint64(s), 0, eventClock, 0)
				nevents++
			}
		}
	}
	mem.WriteUint32Le(res, nevents)
	return 0
}

// clockTimeout is how long a clock subscription waits. An absolute
// deadline is supported on the realtime clock (the guest's wall clock is
// the host's under wrun); on the others, whose epoch the guest's clock
// hides, it is not (false: an event with ENOTSUP, as wazero answers).
func clockTimeout(s []byte) (int64, bool) {
	d := int64(le.Uint64(s[24:]))
	if le.Uint16(s[40:])&subclockAbstime != 0 {
		if le.Uint32(s[16:]) != 0 {
			return 0, false
		}
		d -= time.Now().UnixNano()
	}
	return max(d, 0), true
}

func putEvent(b []byte, userdata uint64, errno uint16, typ uint8, nbytes uint64) {
	le.PutUint64(b[0:], userdata)
	le.PutUint16(b[8:], errno)
	b[10] = typ
	clear(b[11:16])
	le.PutUint64(b[16:], nbytes)
	clear(b[24:32])
}

// sleep waits d, or until ctx is done (EINTR).
func (st *state) sleep(ctx context.Context, d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	t := time.NewTimer(d)
	defer t.Stop()
	st.mu.Unlock()
	defer st.mu.Lock()
	select {
	case <-t.C:
		return 0
	case <-ctx.Done():
		interrupted(ctx)
		return errnoIntr
	}
}

// wrun gives guests no sockets: every open fd is not a socket.
func sockAccept(_ context.Context, st *state, _ api.Memory, stack []uint64) uint32 {
	return st.notSock(stack)
}

func sockRecv(_ context.Context, st *state, _ api.Memory, stack []uint64) uint32 {
	return st.notSock(stack)
}

func sockSend(_ context.Context, st *state, _ api.Memory, stack []uint64) uint32 {
	return st.notSock(stack)
}

func sockShutdown(_ context.Context, st *state, _ api.Memory, stack []uint64) uint32 {
	return st.notSock(stack)
}

func (st *state) notSock(stack []uint64) uint32 {
	if st.get(uint32(stack[0])) == nil {
		return errnoBadf
	}
	return errnoNotsock
}
