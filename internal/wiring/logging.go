package wiring

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/iscdesk/iscdesk/internal/netutil"
)

// redacting wraps the process's log handler so that no log line carries a
// URL's credentials, query or fragment: the message and every value that
// prints as text pass through netutil.RedactText, whatever the layer that
// logged it put there (an error quoting a proxy URL, a *url.URL).
type redacting struct{ slog.Handler }

func (h redacting) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, netutil.RedactText(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return h.Handler.Handle(ctx, out)
}

func (h redacting) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = redactAttr(a)
	}
	return redacting{h.Handler.WithAttrs(red)}
}

func (h redacting) WithGroup(name string) slog.Handler { return redacting{h.Handler.WithGroup(name)} }

func redactAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, netutil.RedactText(v.String()))
	case slog.KindGroup:
		group := v.Group()
		red := make([]any, len(group))
		for i, g := range group {
			red[i] = redactAttr(g)
		}
		return slog.Group(a.Key, red...)
	case slog.KindAny:
		if s := fmt.Sprint(v.Any()); s != netutil.RedactText(s) {
			return slog.String(a.Key, netutil.RedactText(s))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
