package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"medqa/backend/engine"
	"medqa/backend/runs"
	"medqa/trainer/runspec"
)

// metrics are the server's Prometheus series, on a registry of its own so that several
// servers (tests) can live in one process.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	ttft      prometheus.Histogram
	tps       prometheus.Histogram
	tokens    prometheus.Counter
	finished  *prometheus.CounterVec
	refused   *prometheus.CounterVec
	wsConns   prometheus.Gauge
	trainStep prometheus.Gauge
	trainLoss prometheus.Gauge
	trainVal  prometheus.Gauge
	trainTPS  prometheus.Gauge
}

func newMetrics(e *engine.Engine, rm *runs.Manager) *metrics {
	reg := prometheus.NewRegistry()
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	m := &metrics{reg: reg}
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "medqa_http_requests_total", Help: "HTTP requests by route pattern and status code."}, []string{"route", "code"})
	m.ttft = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "medqa_time_to_first_token_seconds", Help: "From a request's arrival at the engine to its first token (queueing and prefill included).",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)})
	m.tps = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "medqa_decode_tokens_per_second", Help: "Per-request decode rate (tokens after the first over their time).",
		Buckets: prometheus.ExponentialBuckets(1, 1.6, 16)})
	m.tokens = prometheus.NewCounter(prometheus.CounterOpts{Name: "medqa_generated_tokens_total", Help: "Tokens generated."})
	m.finished = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "medqa_generations_total", Help: "Finished generations by finish reason (stop, length, cancelled, error)."}, []string{"finish_reason"})
	m.refused = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "medqa_refused_total", Help: "Requests refused before generation, by reason (queue_full, rate_limited, bad_request, ...)."}, []string{"reason"})
	m.wsConns = prometheus.NewGauge(prometheus.GaugeOpts{Name: "medqa_websocket_connections", Help: "Open chat websocket connections."})
	m.trainStep = prometheus.NewGauge(prometheus.GaugeOpts{Name: "medqa_training_step", Help: "Last step reported by the running training job."})
	m.trainLoss = prometheus.NewGauge(prometheus.GaugeOpts{Name: "medqa_training_loss", Help: "Last training loss reported."})
	m.trainVal = prometheus.NewGauge(prometheus.GaugeOpts{Name: "medqa_training_val_loss", Help: "Last validation loss reported."})
	m.trainTPS = prometheus.NewGauge(prometheus.GaugeOpts{Name: "medqa_training_tokens_per_second", Help: "Training throughput last reported."})
	for _, c := range []prometheus.Collector{m.requests, m.ttft, m.tps, m.tokens, m.finished, m.refused, m.wsConns, m.trainStep, m.trainLoss, m.trainVal, m.trainTPS} {
		f(c)
	}
	f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "medqa_engine_queue_depth", Help: "Requests waiting for a decode slot."},
		func() float64 { return float64(e.Stats().Waiting) }))
	f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "medqa_engine_active_streams", Help: "Requests being decoded."},
		func() float64 { return float64(e.Stats().Active) }))
	if rm != nil {
		f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "medqa_training_running", Help: "1 while a trainer process runs."},
			func() float64 {
				if _, ok := rm.Running(); ok {
					return 1
				}
				return 0
			}))
		rm.Watch(m.training)
	}
	return m
}

// training follows the trainer's events.
func (m *metrics) training(ev runspec.Record) {
	if ev.Stage != "train" {
		return
	}
	if ev.Step != nil {
		m.trainStep.Set(float64(*ev.Step))
	}
	for _, g := range []struct {
		g prometheus.Gauge
		v *float64
	}{{m.trainLoss, ev.Loss}, {m.trainVal, ev.ValLoss}, {m.trainTPS, ev.TokensPerS}} {
		if g.v != nil {
			g.g.Set(*g.v)
		}
	}
}

// observe records a finished generation.
func (m *metrics) observe(res engine.Result, err error) {
	if err != nil {
		m.finished.WithLabelValues("error").Inc()
		return
	}
	m.finished.WithLabelValues(res.FinishReason).Inc()
	m.tokens.Add(float64(res.CompletionTokens))
	if res.CompletionTokens > 0 {
		m.ttft.Observe(res.TTFT.Seconds())
	}
	if tps := res.TokensPerS(); tps > 0 {
		m.tps.Observe(tps)
	}
}
