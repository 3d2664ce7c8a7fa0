package ivr

import (
	"testing"
	"time"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestHoursIsOpen(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	newYork, _ := time.LoadLocation("America/New_York")
	weekdays := OpenRange{From: 8 * 60, To: 18 * 60}
	weekdays.Days, _ = parseDays("mon-fri")
	saturday := OpenRange{From: 9 * 60, To: 13 * 60}
	saturday.Days, _ = parseDays("sat")
	allDay := OpenRange{From: 0, To: 24 * 60}
	allDay.Days, _ = parseDays("mon-sun")
	office := &Hours{Open: []OpenRange{weekdays, saturday}, Holidays: []string{"2026-05-01"}}

	tests := []struct {
		name     string
		h        *Hours
		now      string
		tenant   *time.Location
		holidays []string
		open     bool
		reason   string
	}{
		// 2026-03-02 is a Monday; Paris is UTC+1 in winter.
		{"paris morning open", office, "2026-03-02T07:30:00Z", paris, nil, true, "open"},
		{"paris before opening", office, "2026-03-02T06:59:00Z", paris, nil, false, "closed"},
		{"paris closing time is exclusive", office, "2026-03-02T17:00:00Z", paris, nil, false, "closed"},
		{"same instant in new york is night", office, "2026-03-02T07:30:00Z", newYork, nil, false, "closed"},
		{"no tenant zone means UTC", office, "2026-03-02T07:30:00Z", nil, nil, false, "closed"},
		{"saturday window", office, "2026-03-07T08:00:00Z", paris, nil, true, "open"},
		{"saturday afternoon", office, "2026-03-07T12:00:00Z", paris, nil, false, "closed"},
		{"sunday", office, "2026-03-08T10:00:00Z", paris, nil, false, "closed"},
		// US DST starts 2026-03-08 02:00 (EST -5 -> EDT -4). 12:30Z is
		// 08:30 on the Monday after, 07:30 the Friday before.
		{"new york friday before DST 07:30 EST", office, "2026-03-06T12:30:00Z", newYork, nil, false, "closed"},
		{"new york monday after DST 08:30 EDT", office, "2026-03-09T12:30:00Z", newYork, nil, true, "open"},
		// EU DST starts 2026-03-29 (Sunday); Monday 30th 06:30Z is 08:30 CEST.
		{"paris monday after DST", office, "2026-03-30T06:30:00Z", paris, nil, true, "open"},
		{"paris monday before DST same UTC time", office, "2026-03-23T06:30:00Z", paris, nil, false, "closed"},
		// On the DST day itself 02:30 local does not exist; 01:59 EST is
		// followed by 03:00 EDT.
		{"24h on DST day before switch", &Hours{Open: []OpenRange{allDay}}, "2026-03-08T06:59:00Z", newYork, nil, true, "open"},
		{"24h on DST day after switch", &Hours{Open: []OpenRange{allDay}}, "2026-03-08T07:00:00Z", newYork, nil, true, "open"},
		{"24:00 covers 23:59", &Hours{Open: []OpenRange{allDay}}, "2026-03-02T22:59:59Z", paris, nil, true, "open"},
		{"step holiday", office, "2026-05-01T08:00:00Z", paris, nil, false, "holiday"},
		{"tenant holiday", office, "2026-03-02T08:00:00Z", paris, []string{"2026-03-02"}, false, "holiday"},
		// 23:30Z on Christmas Eve is already Christmas in Paris.
		{"holiday uses the local date", &Hours{Open: []OpenRange{allDay}}, "2026-12-24T23:30:00Z", paris, []string{"2026-12-25"}, false, "holiday"},
		{"holiday uses the local date (UTC)", &Hours{Open: []OpenRange{allDay}}, "2026-12-24T23:30:00Z", time.UTC, []string{"2026-12-25"}, true, "open"},
		{"step zone overrides tenant", &Hours{Location: newYork, Open: []OpenRange{weekdays}}, "2026-03-02T22:00:00Z", paris, nil, true, "open"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			open, reason := tt.h.IsOpen(utc(tt.now), tt.tenant, tt.holidays)
			if open != tt.open || reason != tt.reason {
				t.Errorf("IsOpen(%s) = %v, %s; want %v, %s", tt.now, open, reason, tt.open, tt.reason)
			}
		})
	}
}

func TestParseDaysAndClock(t *testing.T) {
	days, err := parseDays("fri-mon, wed")
	want := [7]bool{time.Sunday: true, time.Monday: true, time.Wednesday: true, time.Friday: true, time.Saturday: true}
	if err != nil || days != want {
		t.Errorf("parseDays = %v, %v", days, err)
	}
	if days, err := parseDays("Saturday"); err != nil || !days[time.Saturday] {
		t.Errorf("full day name: %v, %v", days, err)
	}
	for _, bad := range []string{"", "mon-fry", "weekdays"} {
		if _, err := parseDays(bad); err == nil {
			t.Errorf("parseDays(%q) accepted", bad)
		}
	}
	for s, want := range map[string]int{"00:00": 0, "08:30": 510, "24:00": 1440} {
		if got, err := parseClock(s); err != nil || got != want {
			t.Errorf("parseClock(%s) = %d, %v", s, got, err)
		}
	}
	for _, bad := range []string{"8:00", "24:30", "12:60", "noon", "12:5"} {
		if _, err := parseClock(bad); err == nil {
			t.Errorf("parseClock(%q) accepted", bad)
		}
	}
}

func TestHoursStep(t *testing.T) {
	f := mustParse(t, `
start: h
steps:
  h:
    hours:
      timezone: Asia/Tokyo
      open:
        - {days: mon-fri, from: "09:00", to: "17:00"}
      holidays: ["2026-01-01"]
      open_step: open
      closed_step: closed
  open:
    hangup: true
  closed:
    hangup: busy
`)
	cases := []struct {
		now, next, open, reason, local string
	}{
		{"2026-03-02T00:30:00Z", "open", "true", "open", "2026-03-02T09:30:00+09:00"},
		{"2026-03-02T08:00:00Z", "closed", "false", "closed", "2026-03-02T17:00:00+09:00"},
		{"2025-12-31T15:00:00Z", "closed", "false", "holiday", "2026-01-01T00:00:00+09:00"},
	}
	for _, c := range cases {
		var got map[string]string
		sink := EventFunc(func(kind, step string, data map[string]string) {
			if kind == EventHours {
				got = data
			}
		})
		now := utc(c.now)
		res, err := f.Run(t.Context(), newFake(""), Env{
			Now:      func() time.Time { return now },
			Location: time.UTC, // the step's own zone wins
			Events:   sink,
		})
		if err != nil || res.Step != c.next {
			t.Errorf("%s: %+v, %v", c.now, res, err)
		}
		if got["open"] != c.open || got["next"] != c.next || got["reason"] != c.reason || got["time"] != c.local {
			t.Errorf("%s: hours event %v", c.now, got)
		}
	}
}
