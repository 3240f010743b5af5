package httpapi

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/server"
)

// Metrics are the server's Prometheus metrics, in a registry of their own
// (no package-level state: two servers in one test process each have
// theirs).
type Metrics struct {
	Registry      *prometheus.Registry
	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	upstream      *prometheus.CounterVec
	upstreamTime  *prometheus.HistogramVec
	limited       *prometheus.CounterVec
	callbacks     *prometheus.CounterVec
	uploads       *prometheus.CounterVec
	seatsMu       sync.Mutex
	seats         server.Stats
	seatsAt       time.Time
	seatsInterval time.Duration
}

// NewMetrics registers the metrics. stats, when not nil, is asked for the
// seat figures at most every 15 s (scrapes between get the last ones).
func NewMetrics(stats func(context.Context) (server.Stats, error)) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "iscdesk_server_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "iscdesk_server_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
		upstream: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "iscdesk_server_upstream_calls_total", Help: "Marketplace calls by operation and result (ok or the error kind).",
		}, []string{"op", "result"}),
		upstreamTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "iscdesk_server_upstream_duration_seconds", Help: "Marketplace call latency by operation.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2.5, 10),
		}, []string{"op"}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "iscdesk_server_rate_limited_total", Help: "Requests refused by a rate limit, by limit.",
		}, []string{"limit"}),
		callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "iscdesk_server_callbacks_total", Help: "Marketplace callbacks by activity and result code.",
		}, []string{"activity", "result"}),
		uploads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "iscdesk_server_uploads_total", Help: "Upload attempts of async device licenses by outcome (done, pending: will retry, failed: refused for good).",
		}, []string{"state"}),
		seatsInterval: 15 * time.Second,
	}
	m.Registry.MustRegister(m.requests, m.latency, m.upstream, m.upstreamTime, m.limited, m.callbacks, m.uploads,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if stats != nil {
		get := func() server.Stats {
			m.seatsMu.Lock()
			defer m.seatsMu.Unlock()
			if time.Since(m.seatsAt) > m.seatsInterval {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if st, err := stats(ctx); err == nil {
					m.seats, m.seatsAt = st, time.Now()
				}
			}
			return m.seats
		}
		m.Registry.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "iscdesk_server_seats_bound", Help: "Seats held by active activations (node-locked codes) or leases (floating codes), over all codes."},
				func() float64 { return float64(get().Bound) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "iscdesk_server_seats_free", Help: "Seats not held, over all codes."},
				func() float64 { return float64(get().Free) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "iscdesk_server_codes", Help: "License codes known to the server."},
				func() float64 { return float64(get().Codes) }),
		)
	}
	return m
}

// ObserveUpstream counts a marketplace call (upstream.Marketplace.Observe).
func (m *Metrics) ObserveUpstream(op string, d time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = errs.KindOf(err).Name()
	}
	m.upstream.WithLabelValues(op, result).Inc()
	m.upstreamTime.WithLabelValues(op).Observe(d.Seconds())
}

func (m *Metrics) observeCallback(activity, result string) {
	if activity == "" {
		activity = "unknown"
	}
	m.callbacks.WithLabelValues(activity, result).Inc()
}

// ObserveUpload counts an upload attempt (server.Deps.ObserveUpload).
func (m *Metrics) ObserveUpload(state, _ string) { m.uploads.WithLabelValues(state).Inc() }

// WatchUploads publishes the upload queue's depth by state, asked of counts
// at each scrape.
func (m *Metrics) WatchUploads(counts func(context.Context) (map[server.UploadState]int, error)) {
	for _, st := range []server.UploadState{server.UploadPending, server.UploadDone, server.UploadFailed} {
		m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "iscdesk_server_uploads_queued", Help: "Async device licenses by upload state.", ConstLabels: prometheus.Labels{"state": string(st)},
		}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, err := counts(ctx)
			if err != nil {
				return -1
			}
			return float64(c[st])
		}))
	}
}

func (m *Metrics) observeRequest(route string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}
