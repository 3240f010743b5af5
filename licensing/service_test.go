package licensing_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/secret"
	"github.com/iscdesk/iscdesk/licensing/store"
)

// fakeMarket answers like the marketplace from a table of licenses.
type fakeMarket struct {
	mu       sync.Mutex
	licenses map[string]licensing.License
	down     bool // every call fails as unreachable
	reports  []string
	queries  int
	// onQuery, when set, runs inside every Query (outside the lock).
	onQuery func()
}

func (f *fakeMarket) get(op, code string) (licensing.License, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return licensing.License{}, errs.E(op, errs.Unavailable, errors.New("connection refused"))
	}
	l, ok := f.licenses[code]
	if !ok {
		return licensing.License{}, errs.E(op, errs.NotFound, errors.New("no such code"))
	}
	return l, nil
}

func (f *fakeMarket) Activate(_ context.Context, code string) (licensing.License, error) {
	return f.get("activate", code)
}

func (f *fakeMarket) Query(_ context.Context, code string) (licensing.License, error) {
	f.mu.Lock()
	f.queries++
	hook := f.onQuery
	f.mu.Unlock()
	if hook != nil {
		hook()
	}
	return f.get("query", code)
}

func (f *fakeMarket) ReportUsage(_ context.Context, code, id string) error {
	if _, err := f.get("usage", code); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reports = append(f.reports, code+" "+id)
	return nil
}

func (f *fakeMarket) set(code string, s licensing.Status) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.licenses[code]
	l.Status = s
	f.licenses[code] = l
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var (
	t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	fp = devinfo.Render(devinfo.Components{MAC: []string{"02:00:00:00:00:01"}, Disk: []string{"D1"}, Board: "B1", CPU: "C1"})
)

func newService(t *testing.T) (*licensing.Service, *fakeMarket, *clock) {
	market := &fakeMarket{licenses: map[string]licensing.License{
		"PLGOOD": {Code: "PLGOOD", Status: licensing.StatusAlive, ExpireTime: t0.AddDate(1, 0, 0), ProductID: "P", OrderID: "O"},
		"PLOLD":  {Code: "PLOLD", Status: licensing.StatusExpired, ExpireTime: t0.AddDate(-1, 0, 0)},
	}}
	c := &clock{t: t0}
	s := &licensing.Service{
		Store:       store.NewKeyringStore(&secret.Memory{}, func() (string, error) { return "machine", nil }),
		Settings:    fixedSettings(licensing.Settings{Grace: 7 * 24 * time.Hour}),
		Market:      fixedMarket(market),
		Fingerprint: func(context.Context) devinfo.Fingerprint { return fp },
		DeviceID:    func() (string, error) { return "protected-id", nil },
		Now:         c.Now,
	}
	return s, market, c
}

func fixedSettings(set licensing.Settings) func() (licensing.Settings, error) {
	return func() (licensing.Settings, error) { return set, nil }
}

func fixedMarket(m licensing.Marketplace) func(context.Context, string) (licensing.Marketplace, error) {
	return func(context.Context, string) (licensing.Marketplace, error) { return m, nil }
}

func TestActivateThenStatus(t *testing.T) {
	ctx := context.Background()
	m, market, c := newService(t)
	if _, err := m.Status(ctx, false); !errs.Is(err, errs.NotActivated) {
		t.Fatalf("status before activation: %v", err)
	}
	if _, err := m.Activate(ctx, "PL bad"); !errs.Is(err, errs.Invalid) {
		t.Fatalf("bad code: %v", err)
	}
	if _, err := m.Activate(ctx, "PLOLD"); !errs.Is(err, errs.Expired) {
		t.Fatalf("expired code: %v", err)
	}
	st, err := m.Activate(ctx, " PLGOOD ")
	if err != nil || !st.Verdict.Valid() || st.Storage != "keyring" {
		t.Fatalf("activate: %+v %v", st, err)
	}
	if len(market.reports) != 1 || market.reports[0] != "PLGOOD protected-id" {
		t.Fatalf("usage reports %v", market.reports)
	}

	c.Add(time.Hour)
	st, err = m.Status(ctx, true)
	if err != nil || st.Source != licensing.SourceOnline || !st.Verdict.Valid() {
		t.Fatalf("online status: %+v %v", st, err)
	}
	if len(market.reports) != 1 {
		t.Fatalf("a second report on the same day: %v", market.reports)
	}

	// Offline for 3 days: the cache covers it.
	market.down = true
	c.Add(3 * 24 * time.Hour)
	st, err = m.Status(ctx, true)
	if err != nil || st.Source != licensing.SourceCache || !st.Verdict.Valid() || st.OnlineErr == nil {
		t.Fatalf("offline within grace: %+v %v", st, err)
	}
	// Offline for 8 days: not covered, and the marketplace is to blame.
	c.Add(5 * 24 * time.Hour)
	st, _ = m.Status(ctx, true)
	if !errs.Is(st.Verdict.Err, errs.Unavailable) {
		t.Fatalf("offline past grace: %v", st.Verdict.Err)
	}
	st, _ = m.Status(ctx, false)
	if !errs.Is(st.Verdict.Err, errs.GraceExpired) {
		t.Fatalf("--offline past grace: %v", st.Verdict.Err)
	}
	// Back online: valid again, and the day's report goes out.
	market.down = false
	st, _ = m.Status(ctx, true)
	if !st.Verdict.Valid() || len(market.reports) != 2 {
		t.Fatalf("back online: %v, reports %v", st.Verdict.Err, market.reports)
	}
}

func TestReleasedTakesEffectAtOnce(t *testing.T) {
	ctx := context.Background()
	m, market, c := newService(t)
	if _, err := m.Activate(ctx, "PLGOOD"); err != nil {
		t.Fatal(err)
	}
	market.set("PLGOOD", licensing.StatusReleased)
	c.Add(25 * time.Hour)
	done := make(chan error, 1)
	st, err := m.Check(ctx, done)
	if err != nil || !st.Verdict.Valid() {
		t.Fatalf("the start before the daily check ran is valid: %v %v", err, st.Verdict.Err)
	}
	if err := <-done; err != nil {
		t.Fatalf("daily check: %v", err)
	}
	st, _ = m.Status(ctx, false)
	if !errs.Is(st.Verdict.Err, errs.Released) {
		t.Fatalf("after the daily check: %v", st.Verdict.Err)
	}
}

func TestDailyCheckOncePerDayAndNeverBlocks(t *testing.T) {
	ctx := context.Background()
	m, market, c := newService(t)
	if _, err := m.Activate(ctx, "PLGOOD"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	if _, err := m.Check(ctx, done); err != nil {
		t.Fatal(err)
	}
	<-done
	if market.queries != 0 {
		t.Fatalf("checked again on the activation day: %d queries", market.queries)
	}
	market.down = true
	c.Add(24 * time.Hour)
	st, err := m.Check(ctx, done)
	if err != nil || !st.Verdict.Valid() {
		t.Fatalf("offline start inside grace: %v %v", err, st.Verdict.Err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the daily check's failure is logged, not returned: %v", err)
	}
}

func TestClockSetBackAfterUse(t *testing.T) {
	ctx := context.Background()
	m, _, c := newService(t)
	if _, err := m.Activate(ctx, "PLGOOD"); err != nil {
		t.Fatal(err)
	}
	c.Add(3 * time.Hour)
	if st, _ := m.Status(ctx, false); !st.Verdict.Valid() {
		t.Fatal(st.Verdict.Err)
	}
	c.Add(-2 * time.Hour)
	if st, _ := m.Status(ctx, false); !errs.Is(st.Verdict.Err, errs.ClockRollback) {
		t.Fatalf("clock set back: %v", st.Verdict.Err)
	}
}

func TestForget(t *testing.T) {
	ctx := context.Background()
	m, _, _ := newService(t)
	if _, err := m.Activate(ctx, "PLGOOD"); err != nil {
		t.Fatal(err)
	}
	if err := m.Forget(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Status(ctx, false); !errs.Is(err, errs.NotActivated) {
		t.Fatalf("after forget: %v", err)
	}
}

// The service reads its settings for every flow: a change (the window's
// Settings screen) applies to the next call of the same service.
func TestSettingsReadPerCall(t *testing.T) {
	ctx := context.Background()
	s, market, c := newService(t)
	var mu sync.Mutex
	set := licensing.Settings{Grace: 7 * 24 * time.Hour}
	s.Settings = func() (licensing.Settings, error) { mu.Lock(); defer mu.Unlock(); return set, nil }
	var asked []string
	s.Market = func(_ context.Context, endpoint string) (licensing.Marketplace, error) {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, endpoint)
		return market, nil
	}
	s.DefaultEndpoint = "https://default.example"
	if _, err := s.Activate(ctx, "PLGOOD"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ActivateAt(ctx, "http://127.0.0.1:9", "PLGOOD"); err != nil {
		t.Fatal(err)
	}
	if ep, _ := s.Endpoint(ctx); ep != "http://127.0.0.1:9" {
		t.Errorf("endpoint of the record: %q", ep)
	}
	if _, err := s.Status(ctx, true); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	set.Endpoint = "https://configured.example"
	mu.Unlock()
	if _, err := s.Status(ctx, true); err != nil {
		t.Fatal(err)
	}
	if ep, _ := s.Endpoint(ctx); ep != "https://configured.example" {
		t.Errorf("configured endpoint: %q", ep)
	}
	want := []string{"", "http://127.0.0.1:9", "http://127.0.0.1:9", "https://configured.example"}
	if !slices.Equal(asked, want) {
		t.Errorf("asked %q, want %q", asked, want)
	}

	c.Add(3 * 24 * time.Hour)
	if st, _ := s.Status(ctx, false); !st.Verdict.Valid() {
		t.Fatalf("within 7 days of grace: %v", st.Verdict.Err)
	}
	mu.Lock()
	set.Grace = 2 * 24 * time.Hour
	mu.Unlock()
	if st, _ := s.Status(ctx, false); !errs.Is(st.Verdict.Err, errs.GraceExpired) {
		t.Fatalf("grace shortened to 2 days: %v", st.Verdict.Err)
	}
	mu.Lock()
	broken := errs.E("config", errs.Invalid, errors.New("bad file"))
	s.Settings = func() (licensing.Settings, error) { return licensing.Settings{}, broken }
	mu.Unlock()
	if _, err := s.Status(ctx, false); !errs.Is(err, errs.Invalid) {
		t.Fatalf("broken settings: %v", err)
	}
}

func TestActivateRecordsDefaultEndpoint(t *testing.T) {
	s, _, _ := newService(t)
	s.DefaultEndpoint = "https://default.example"
	st, err := s.Activate(context.Background(), "PLGOOD")
	if err != nil || st.Record.Endpoint != "https://default.example" {
		t.Fatalf("%+v %v", st.Record, err)
	}
}
