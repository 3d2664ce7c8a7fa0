package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hotline/acd"
	"hotline/media"
	"hotline/tenant"
)

// callQuality keeps per-call RTP quality histograms, observed once per
// call when it ends (from the CDR's figures), by tenant.
type callQuality struct {
	loss   *prometheus.HistogramVec
	jitter *prometheus.HistogramVec
	mos    *prometheus.HistogramVec
}

func newCallQuality() *callQuality {
	return &callQuality{
		loss: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hotline_call_rtp_loss_ratio",
			Help:    "Share of the caller's RTP packets lost over a call, per ended call with audio.",
			Buckets: []float64{0, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5},
		}, []string{"tenant"}),
		jitter: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hotline_call_rtp_jitter_ms",
			Help:    "RFC 3550 interarrival jitter of the caller's RTP at the end of a call, in milliseconds.",
			Buckets: []float64{1, 2, 5, 10, 20, 40, 80, 160},
		}, []string{"tenant"}),
		mos: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hotline_call_mos",
			Help:    "E-model MOS estimate of a call's received audio.",
			Buckets: []float64{1, 2, 2.5, 3, 3.5, 4, 4.2, 4.4},
		}, []string{"tenant"}),
	}
}

func (q *callQuality) register(r prometheus.Registerer) {
	r.MustRegister(q.loss, q.jitter, q.mos)
}

// observe records one ended call; calls that never carried audio are left
// out, so a burst of rejected calls does not read as perfect quality.
func (q *callQuality) observe(tenantID string, st media.Stats) {
	if st.Expected == 0 || st.PacketsReceived == 0 {
		return
	}
	lost := max(0, st.PacketsLost)
	q.loss.WithLabelValues(tenantID).Observe(float64(lost) / float64(st.Expected))
	q.jitter.WithLabelValues(tenantID).Observe(st.JitterMs)
	if st.MOS > 0 {
		q.mos.WithLabelValues(tenantID).Observe(st.MOS)
	}
}

// acdCollector exports every tenant's queues and agents at scrape time,
// from the same live picture as the wallboard.
type acdCollector struct {
	reg                                           *tenant.Registry
	waiting, longest, answered, abandoned, sl, ag *prometheus.Desc
}

func newACDCollector(reg *tenant.Registry) *acdCollector {
	ql := []string{"tenant", "queue"}
	return &acdCollector{
		reg:       reg,
		waiting:   prometheus.NewDesc("hotline_queue_waiting", "Callers in the queue now (ringing offers included).", ql, nil),
		longest:   prometheus.NewDesc("hotline_queue_longest_wait_seconds", "Longest time a waiting caller has been in the queue.", ql, nil),
		answered:  prometheus.NewDesc("hotline_queue_answered_today", "Calls answered from the queue since local midnight.", ql, nil),
		abandoned: prometheus.NewDesc("hotline_queue_abandoned_today", "Callers who hung up waiting in the queue since local midnight.", ql, nil),
		sl:        prometheus.NewDesc("hotline_queue_service_level", "Answered within the threshold / (answered + abandoned - short abandons), today; absent until a call counts.", ql, nil),
		ag:        prometheus.NewDesc("hotline_agents", "Logged-in agents by state.", []string{"tenant", "state"}, nil),
	}
}

func (c *acdCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.waiting, c.longest, c.answered, c.abandoned, c.sl, c.ag} {
		ch <- d
	}
}

func (c *acdCollector) Collect(ch chan<- prometheus.Metric) {
	for _, t := range c.reg.Tenants() {
		if t.ACD == nil {
			continue
		}
		// A scrape must not hang on a stopped or stuck owner.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		b, err := t.ACD.Board(ctx)
		cancel()
		if err != nil {
			continue
		}
		for _, q := range b.Queues {
			ch <- prometheus.MustNewConstMetric(c.waiting, prometheus.GaugeValue, float64(q.Waiting), t.ID, q.Queue)
			ch <- prometheus.MustNewConstMetric(c.longest, prometheus.GaugeValue, q.LongestWait.Seconds(), t.ID, q.Queue)
			ch <- prometheus.MustNewConstMetric(c.answered, prometheus.GaugeValue, float64(q.Answered), t.ID, q.Queue)
			ch <- prometheus.MustNewConstMetric(c.abandoned, prometheus.GaugeValue, float64(q.Abandoned), t.ID, q.Queue)
			if sl, ok := q.ServiceLevel(acd.SLDefault); ok {
				ch <- prometheus.MustNewConstMetric(c.sl, prometheus.GaugeValue, sl, t.ID, q.Queue)
			}
		}
		var byState [8]int
		for _, a := range b.Agents {
			if int(a.State) < len(byState) {
				byState[a.State]++
			}
		}
		for s := acd.StateAvailable; s <= acd.StateMissed; s++ {
			ch <- prometheus.MustNewConstMetric(c.ag, prometheus.GaugeValue, float64(byState[s]), t.ID, s.String())
		}
	}
}
