// Package warm is the protocol of wrun's per-user warm process: a server
// that keeps compiled modules and loaded packages in memory, listening on a
// Unix socket in a 0700 directory under WRUN_HOME, and a client that hands
// it a `wrun run` invocation (argv, environment, stdio and working
// directory as file descriptors) and waits for the exit code.
//
// The package knows nothing of the command line: the server calls a
// Handler with what the client sent. Every failure on the client's side
// before the server says the invocation started is ErrFallback, and the
// caller runs the invocation in its own process instead.
//
// The boundary is the socket: its directory is 0700 and owned by the user,
// and the server refuses a peer whose uid (SO_PEERCRED) is not its own, or
// which lives in another user or mount namespace (where the same paths name
// other files).
package warm

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// Proto is the protocol version. A server answers a client of another
// version with ReasonProto, and the client falls back. Version 2: a run's
// Request follows its Hello without waiting, and the HelloReply answers
// both.
const Proto = 2

// Ops a client may ask for in its Hello.
const (
	OpRun    = "run"
	OpStatus = "status"
	OpStop   = "stop"
)

// Reasons a server gives for refusing a Hello.
const (
	ReasonProto = "protocol" // another protocol version
	ReasonBuild = "build"    // another wrun build
	ReasonBusy  = "busy"     // a run is in progress
	ReasonPeer  = "peer"     // another user or namespace
	ReasonLimit = "limits"   // the client has a tighter resource limit
)

// Hello is a client's first frame.
type Hello struct {
	Proto int    `json:"proto"`
	Build string `json:"build"`
	Op    string `json:"op"`
	// Limits are the client's soft resource limits (Limits): a run in
	// process would be subject to them, so a server with a looser one
	// refuses the run (ReasonLimits).
	Limits map[string]uint64 `json:"limits,omitempty"`
}

// HelloReply is the server's answer to a Hello. OK false carries a Reason.
type HelloReply struct {
	OK     bool    `json:"ok"`
	Reason string  `json:"reason,omitempty"`
	Detail string  `json:"detail,omitempty"`
	Status *Status `json:"status,omitempty"` // OpStatus
}

// Status describes a running server.
type Status struct {
	PID      int    `json:"pid"`
	Build    string `json:"build"`
	Started  string `json:"started"`  // RFC 3339
	Served   int64  `json:"served"`   // runs served
	Runtimes int    `json:"runtimes"` // runtimes kept, one per configuration
}

// Request is the invocation, sent right after an OpRun Hello with the file
// descriptors stdin, stdout, stderr and the working directory attached.
// The server reads it only once it takes the run, and then replies OK:
// past that the client cannot fall back. A refusal is replied after the
// Hello alone, and the Request (with its descriptors) is dropped unread.
type Request struct {
	Args []string `json:"args"` // without argv[0]
	Env  []string `json:"env"`  // os.Environ() of the client
	// Umask is the client's: files a guest creates in a mount get the
	// permissions they would in process.
	Umask int `json:"umask"`
}

// Event is the frame the server sends when a run it took ends: Exit with
// its code.
type Event struct {
	Exit *int `json:"exit,omitempty"`
}

// Control is a frame a client sends during a run.
type Control struct {
	Cancel bool `json:"cancel,omitempty"` // SIGINT or SIGTERM
}

// numFDs is how many descriptors a Request carries.
const numFDs = 4

// maxFrame bounds a Request frame; an environment larger than that runs in
// process. maxSmallFrame bounds every other frame (Hello, HelloReply,
// Event, Control), each a few hundred bytes: a peer claiming more is
// refused before anything is allocated for it.
const (
	maxFrame      = 4 << 20
	maxSmallFrame = 64 << 10
)

// ErrFallback wraps every failure that leaves the invocation to the
// client's own process: no server, another build, a busy server, a
// protocol error before the run started.
var ErrFallback = errors.New("warm server not used")

// Dir is the server's directory under the data directory of WRUN_HOME.
func Dir(data string) string { return filepath.Join(data, "server") }

// SocketPath is the server's socket in dir.
func SocketPath(dir string) string { return filepath.Join(dir, "sock") }

// LogPath is the server's log in dir.
func LogPath(dir string) string { return filepath.Join(dir, "server.log") }

// maxSocketPath is the longest path a sockaddr_un holds.
const maxSocketPath = 107

// writeFrame writes v as one frame, with fds attached when given.
func writeFrame(c *os.File, v any, fds ...int) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if len(b) > maxFrame {
		return fmt.Errorf("frame of %d bytes is over the %d-byte limit", len(b), maxFrame)
	}
	msg := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(b)), uint32(len(b)))
	msg = append(msg, b...)
	var oob []byte
	if len(fds) > 0 {
		oob = syscall.UnixRights(fds...)
	}
	// A frame larger than the socket's buffer goes out in parts: the
	// descriptors ride with the first.
	n, err := sendmsg(c, msg, oob)
	if err == nil && n < len(msg) {
		_, err = c.Write(msg[n:])
	}
	return err
}

// readFrame reads one frame of at most limit bytes into v; with wantFDs > 0
// it also receives exactly that many descriptors, which the caller then
// owns.
func readFrame(c *os.File, v any, wantFDs, limit int) ([]*os.File, error) {
	var hdr [4]byte
	oob := make([]byte, syscall.CmsgSpace(4*numFDs))
	n, oobn, flags, err := recvmsg(c, hdr[:], oob)
	if err != nil {
		return nil, err
	}
	files, ferr := parseFDs(oob[:oobn])
	fail := func(err error) ([]*os.File, error) {
		closeAll(files)
		return nil, err
	}
	if ferr != nil {
		return fail(ferr)
	}
	// The kernel closes the descriptors that did not fit: the frame carried
	// more than wanted.
	if flags&syscall.MSG_CTRUNC != 0 {
		return fail(fmt.Errorf("frame carries over %d file descriptors, want %d", numFDs, wantFDs))
	}
	if len(files) != wantFDs {
		return fail(fmt.Errorf("frame carries %d file descriptors, want %d", len(files), wantFDs))
	}
	if n < 4 {
		if _, err := io.ReadFull(c, hdr[n:]); err != nil {
			return fail(err)
		}
	}
	size := binary.BigEndian.Uint32(hdr[:])
	if size > uint32(limit) {
		return fail(fmt.Errorf("frame of %d bytes is over the %d-byte limit", size, limit))
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(c, b); err != nil {
		return fail(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fail(fmt.Errorf("malformed frame: %w", err))
	}
	return files, nil
}

// parseFDs turns the SCM_RIGHTS messages in oob into files.
func parseFDs(oob []byte) ([]*os.File, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	// Every message's descriptors are taken, so that all are closed when
	// one message is not SCM_RIGHTS.
	var files []*os.File
	var bad error
	for i := range msgs {
		fds, err := syscall.ParseUnixRights(&msgs[i])
		if err != nil {
			bad = err
			continue
		}
		for _, fd := range fds {
			syscall.CloseOnExec(fd)
			files = append(files, os.NewFile(uintptr(fd), fmt.Sprintf("fd%d", len(files))))
		}
	}
	if bad != nil {
		closeAll(files)
		return nil, bad
	}
	return files, nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}
