package ivr

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	// Embedded so that a time zone valid on a developer's machine is valid
	// on every server, whatever zoneinfo the host has.
	_ "time/tzdata"
)

// Hours routes on opening hours.
type Hours struct {
	// Location overrides the tenant's time zone; nil uses the tenant's.
	Location *time.Location
	Open     []OpenRange
	// Holidays (YYYY-MM-DD, local date) are closed all day, on top of the
	// tenant's.
	Holidays   []string
	OpenStep   string
	ClosedStep string
}

// OpenRange is an opening window on some weekdays, in minutes after local
// midnight: From inclusive, To exclusive, To may be 1440 (24:00).
type OpenRange struct {
	Days     [7]bool // indexed by time.Weekday
	From, To int
}

// IsOpen evaluates the schedule at now. tenant is used when the step has no
// time zone of its own (nil means UTC). Wall-clock times are compared after
// converting to the zone, so DST changes need no special handling: 08:00 is
// 08:00 local on both sides of the switch. reason is "holiday", "open" or
// "closed" for the timeline.
func (h *Hours) IsOpen(now time.Time, tenant *time.Location, tenantHolidays []string) (open bool, reason string) {
	loc := h.Location
	if loc == nil {
		loc = tenant
	}
	if loc == nil {
		loc = time.UTC
	}
	local := now.In(loc)
	date := local.Format(dateLayout)
	for _, list := range [][]string{tenantHolidays, h.Holidays} {
		for _, d := range list {
			if d == date {
				return false, "holiday"
			}
		}
	}
	minute := local.Hour()*60 + local.Minute()
	for _, r := range h.Open {
		if r.Days[local.Weekday()] && minute >= r.From && minute < r.To {
			return true, "open"
		}
	}
	return false, "closed"
}

const dateLayout = "2006-01-02"

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

// parseDays reads "mon-fri", "sat", "mon,wed,fri" or "fri-mon" (ranges wrap
// around the week).
func parseDays(s string) ([7]bool, error) {
	var days [7]bool
	if strings.TrimSpace(s) == "" {
		return days, fmt.Errorf("no days given")
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.ToLower(strings.TrimSpace(part))
		from, to, isRange := strings.Cut(part, "-")
		a, ok := dayNames[strings.TrimSpace(from)]
		if !ok {
			return days, fmt.Errorf("unknown day %q (use mon, tue, wed, thu, fri, sat, sun)", strings.TrimSpace(from))
		}
		b := a
		if isRange {
			b, ok = dayNames[strings.TrimSpace(to)]
			if !ok {
				return days, fmt.Errorf("unknown day %q (use mon, tue, wed, thu, fri, sat, sun)", strings.TrimSpace(to))
			}
		}
		for d := a; ; d = (d + 1) % 7 {
			days[d] = true
			if d == b {
				break
			}
		}
	}
	return days, nil
}

// parseClock reads HH:MM into minutes after midnight; 24:00 is accepted so a
// range can run to the end of the day.
func parseClock(s string) (int, error) {
	hh, mm, ok := strings.Cut(s, ":")
	if !ok || len(hh) != 2 || len(mm) != 2 {
		return 0, fmt.Errorf("time %q must be HH:MM", s)
	}
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if err1 != nil || err2 != nil || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("time %q must be HH:MM between 00:00 and 24:00", s)
	}
	return h*60 + m, nil
}
