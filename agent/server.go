package agent

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/iscdesk/iscdesk/agent/activity"
	"github.com/iscdesk/iscdesk/agent/clouddrive"
	"github.com/iscdesk/iscdesk/internal/version"
	"github.com/iscdesk/iscdesk/protocol"
	"github.com/iscdesk/iscdesk/protocol/usersock"
)

// maxBadFrames is how many undecodable frames a connection may send before
// the agent hangs up on it.
const maxBadFrames = 8

// Config wires a Server. Nil hooks refuse their calls with a clear message.
type Config struct {
	// SocketPath is where to listen; "" means protocol.SocketPath().
	SocketPath string
	Storage    Storage
	Solver     Solver
	Licenses   LicenseSource
	Updates    UpdateChecker
	// Pick chooses the cloud file OpenCloudFile returns: the window's file
	// list when the desktop app runs, a configured file headless.
	Pick func(ctx context.Context) (clouddrive.File, error)
	// SaveAs chooses where SelectSaveAsPath saves: given the program's
	// suggested file name (already checked) and whether it saves an
	// assembly, the file name chosen, which the agent places in the cloud
	// drive (Storage.SaveAsTarget checks it). The window's save-as dialog
	// when the desktop app runs, KeepSuggestion headless.
	SaveAs func(ctx context.Context, req clouddrive.SaveAsRequest) (string, error)
	// LicenseDir receives the files of GetLicenseFileRequest given a bare
	// file name.
	LicenseDir string
	// LeaseRetry is how often a queued license request of a floating
	// license asks for a lease again (0: DefaultLeaseRetry).
	LeaseRetry time.Duration
	// Activity records what programs asked for; nil keeps a private one.
	Activity *Activity
	Logger   *slog.Logger
}

// Server is the agent.
type Server struct {
	cfg  Config
	log  *slog.Logger
	work sync.WaitGroup // calls still running
}

// New checks cfg and returns a Server.
func New(cfg Config) *Server {
	if cfg.SocketPath == "" {
		cfg.SocketPath = protocol.SocketPath()
	}
	if cfg.Activity == nil {
		cfg.Activity = NewActivity(0)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, log: log}
}

// Activity returns the server's activity log.
func (s *Server) Activity() *Activity { return s.cfg.Activity }

// SocketPath returns where the server listens.
func (s *Server) SocketPath() string { return s.cfg.SocketPath }

// Listen claims the socket: one agent per user. A socket that answers means
// another agent runs (ErrAlreadyRunning); one that does not is stale and
// replaced; a folder that is not private to this user is refused (see
// ListenPrivate).
func (s *Server) Listen() (net.Listener, error) {
	ln, err := ListenPrivate(s.cfg.SocketPath)
	if err != nil {
		return nil, err
	}
	return ln, nil
}

// Serve accepts connections on ln until ctx ends, then closes them and waits
// for running calls to finish. It serves only processes of this user: a
// connection from another user (usersock.CheckPeer) is logged and closed
// unread, whatever listener ln is.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	pl, ok := ln.(*usersock.Listener)
	if !ok {
		pl = &usersock.Listener{Listener: ln}
	}
	if pl.Refused == nil {
		pl.Refused = func(err error) { s.log.Warn("connection refused", "err", err) }
	}
	ln = pl
	var conns sync.WaitGroup
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	s.log.Info("agent listening", "socket", s.cfg.SocketPath)
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				conns.Wait()
				s.work.Wait()
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		conns.Add(1)
		go func() {
			defer conns.Done()
			s.serveConn(ctx, c)
		}()
	}
}

// conn is one connected program.
type conn struct {
	c     net.Conn
	mu    sync.Mutex // serialises frames
	app   string
	appV  string
	hello bool
	// ctx ends when the program disconnects (or the agent stops): a
	// floating lease is held while it lasts.
	ctx   context.Context
	lease connLease
}

func (cn *conn) send(m protocol.Message) error {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	_ = cn.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return protocol.WriteMessage(cn.c, m)
}

func (cn *conn) reply(id *uint64, result any) {
	b, err := json.Marshal(result)
	if err != nil {
		cn.fail(id, protocol.CodeInternalError, err.Error())
		return
	}
	_ = cn.send(protocol.Message{ID: id, Result: b})
}

func (cn *conn) fail(id *uint64, code int, msg string) {
	_ = cn.send(protocol.Message{ID: id, Error: &protocol.RPCError{Code: code, Message: msg}})
}

// emit sends an event; a program that went away just misses it.
func (cn *conn) emit(e protocol.Event) {
	b, _ := json.Marshal(e)
	_ = cn.send(protocol.Message{Method: protocol.MethodEvent, Params: b})
}

func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	connCtx, cancel := context.WithCancel(ctx)
	cn := &conn{c: c, ctx: connCtx}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	defer c.Close()
	defer s.release(cn)
	defer cancel()
	r := bufio.NewReaderSize(c, 64<<10)
	bad := 0
	for {
		m, err := protocol.ReadMessage(r)
		if errors.Is(err, protocol.ErrBadFrame) {
			bad++
			cn.fail(nil, protocol.CodeParseError, err.Error())
			if bad >= maxBadFrames {
				s.log.Warn("closing a connection that keeps sending garbage", "app", cn.app)
				return
			}
			continue
		}
		if err != nil {
			if !errors.Is(err, net.ErrClosed) && err.Error() != "EOF" {
				s.log.Info("connection closed", "app", cn.app, "err", err)
			}
			return
		}
		if m.Method == "" || m.ID == nil {
			continue // responses and notifications from a program: nothing to do
		}
		s.dispatch(ctx, cn, m)
	}
}

// newID returns a request id for events and the activity log.
func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func decode[T any](cn *conn, m protocol.Message) (T, bool) {
	var p T
	if len(m.Params) > 0 {
		if err := json.Unmarshal(m.Params, &p); err != nil {
			cn.fail(m.ID, protocol.CodeInvalidParams, "invalid params: "+err.Error())
			return p, false
		}
	}
	return p, true
}

func (s *Server) dispatch(ctx context.Context, cn *conn, m protocol.Message) {
	if m.Method == protocol.MethodHello {
		p, ok := decode[protocol.HelloParams](cn, m)
		if !ok {
			return
		}
		if p.Protocol < 1 || p.Protocol > protocol.Version {
			cn.fail(m.ID, protocol.CodeVersion, fmt.Sprintf("protocol %d not supported (this agent speaks %d)", p.Protocol, protocol.Version))
			return
		}
		cn.hello, cn.app, cn.appV = true, p.App, p.Version
		cn.reply(m.ID, protocol.HelloResult{Protocol: protocol.Version, AgentVersion: version.Version})
		return
	}
	if !cn.hello {
		cn.fail(m.ID, protocol.CodeInvalidRequest, "send hello first")
		return
	}
	h, ok := s.handlers()[m.Method]
	if !ok {
		cn.fail(m.ID, protocol.CodeMethodNotFound, "unknown method "+m.Method)
		return
	}
	h(ctx, cn, m)
}

// call runs work in the background after accepting the request, with an
// activity entry; work returns the final event's params. A failure adds
// its reason and its kind (kindOf) to them.
func (s *Server) call(ctx context.Context, cn *conn, m protocol.Message, detail string, comeBack map[string]string, operate string,
	work func(ctx context.Context, id string) (map[string]string, error)) {
	id := newID()
	s.cfg.Activity.add(activity.Entry{ID: id, Time: time.Now(), App: cn.app, Call: m.Method, Detail: detail, Status: "running"})
	cn.reply(m.ID, protocol.Accepted{RequestID: id})
	s.work.Add(1)
	go func() {
		defer s.work.Done()
		params, err := work(ctx, id)
		if params == nil {
			params = map[string]string{}
		}
		status := protocol.StatusSuccess
		if err != nil {
			status = protocol.StatusFailed
			params[protocol.ReasonKey], params[protocol.KindKey] = err.Error(), kindOf(err).Name()
		}
		s.cfg.Activity.update(id, func(e *activity.Entry) {
			e.Status, e.Finished = status, time.Now()
			if err != nil {
				e.Err = err.Error()
			}
		})
		cn.emit(protocol.Event{Operate: operate, Params: withStatus(operate, status, params), ComeBackParams: comeBackWith(comeBack, id)})
	}()
}

// withStatus adds the status under the key the published event uses:
// "Status" for LicenseVerify, "status" for SaveResult and SolutionResult.
// The published OpenFile, UpgradeNotice and Update events have no status;
// they gain one (with the reason and the kind) only when they report a
// failure, so a successful event keeps its exact published shape.
func withStatus(operate, status string, params map[string]string) map[string]string {
	switch {
	case operate == protocol.EventLicenseVerify:
		params["Status"] = status
	case operate == protocol.EventSaveResult || operate == protocol.EventSolutionResult || status != protocol.StatusSuccess:
		params["status"] = status
	}
	return params
}

func comeBackWith(cb map[string]string, id string) map[string]string {
	out := make(map[string]string, len(cb)+1)
	for k, v := range cb {
		out[k] = v
	}
	out[protocol.RequestIDKey] = id
	return out
}
