package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Result is the outcome of one scenario (the -json output is a list of them).
type Result struct {
	// Fixtures is the fixtures folder (relative to the repository root
	// when it can be); File is relative to it.
	Fixtures string `json:"fixtures"`
	File     string `json:"file"`
	Category string `json:"category"`
	Name     string `json:"name"`
	Status   string `json:"status"` // passed | failed | skipped
	Reason   string `json:"reason,omitempty"`
}

const (
	passed  = "passed"
	failed  = "failed"
	skipped = "skipped"
)

// runner runs scenarios against one binding's fixture app.
type runner struct {
	pool    *pool
	timeout time.Duration
}

// run runs one planned scenario. It never takes longer than the timeout
// (plus the time to kill a stuck fixture app).
func (r *runner) run(plan *Plan) (status, reason string) {
	deadline := time.Now().Add(r.timeout)
	left := func() time.Duration {
		d := time.Until(deadline)
		if d < 50*time.Millisecond {
			d = 50 * time.Millisecond
		}
		return d
	}
	app, err := r.pool.get()
	if err != nil {
		return failed, "fixture app: " + err.Error()
	}
	app.stderr.reset()
	withStderr := func(msg string) string {
		if s := app.stderr.String(); s != "" {
			msg += "\nfixture app stderr:\n" + indent(s, "  ")
		}
		return msg
	}

	ans, err := app.call(plan.Setup, left())
	if err != nil {
		r.pool.discard()
		return failed, withStderr("fixture app (restarted): " + err.Error())
	}
	if raw, ok := ans["error"]; ok {
		var msg string
		if json.Unmarshal(raw, &msg) != nil {
			msg = string(raw)
		}
		return failed, withStderr("the fixture app could not start the scenario's app: " + msg)
	}
	var port int
	if raw, ok := ans["port"]; !ok || json.Unmarshal(raw, &port) != nil || port <= 0 || port > 65535 {
		r.pool.discard()
		return failed, withStderr(fmt.Sprintf("fixture app (restarted): answered %s, want {\"port\":N}", mustJSON(ans)))
	}

	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var sendErr error
	for i := 0; i < plan.Warmup.Count && sendErr == nil; i++ {
		var w *Response
		if w, sendErr = send(addr, plan.Request, left()); sendErr == nil && w.Status != plan.Warmup.ExpectStatus {
			sendErr = fmt.Errorf("warm-up request %d answered %d, want %d", i+1, w.Status, plan.Warmup.ExpectStatus)
		}
		if plan.Warmup.SleepMS > 0 {
			time.Sleep(time.Duration(plan.Warmup.SleepMS) * time.Millisecond)
		}
	}
	var resp *Response
	var exchanged []string // streams, event streams, WebSockets (async.go)
	if sendErr == nil && plan.Exchange != nil {
		exchanged, sendErr = plan.Exchange(addr, left())
	} else if sendErr == nil {
		resp, sendErr = send(addr, plan.Request, left())
	}
	// State routes: background work, cleanups, resolution order (extensions.go).
	var stateDiffs []string
	if sendErr == nil {
		for _, chk := range plan.Checks {
			if d := checkState(addr, chk, deadline); d != "" {
				stateDiffs = append(stateDiffs, d)
			}
		}
	}

	stopped, err := app.call(map[string]bool{"stop": true}, left())
	stopProblem := ""
	switch {
	case err != nil:
		r.pool.discard()
		stopProblem = withStderr("stopping the app: " + err.Error() + " (fixture app restarted)")
	case string(stopped["stopped"]) != "true":
		r.pool.discard()
		stopProblem = withStderr(fmt.Sprintf("stopping the app: answered %s, want {\"stopped\":true} (fixture app restarted)", mustJSON(stopped)))
	}

	if sendErr != nil {
		msg := "request: " + sendErr.Error()
		if stopProblem != "" {
			msg += "\n" + stopProblem
		}
		return failed, withStderr(msg)
	}
	var diffs []string
	if plan.Exchange != nil {
		diffs = append(exchanged, stateDiffs...) // the exchange shows what it got itself
	} else {
		diffs = append(compare(plan.Expect, resp), stateDiffs...)
	}
	if stopProblem != "" {
		diffs = append(diffs, stopProblem)
	}
	if len(diffs) > 0 {
		if resp != nil {
			diffs = append(diffs, fmt.Sprintf("response: %d %s %s", resp.Status, resp.Header.Get("Content-Type"), snippet(resp.Body)))
		}
		return failed, strings.Join(diffs, "\n")
	}
	return passed, ""
}

// runAll runs (or skips) every scenario in order.
func (r *runner) runAll(scenarios []*Scenario, skips *skipList, progress func(Result)) []Result {
	results := make([]Result, 0, len(scenarios))
	for _, s := range scenarios {
		res := Result{Fixtures: s.Label, File: s.File, Category: s.Category, Name: s.Name}
		if reason, ok := skips.match(s); ok {
			res.Status, res.Reason = skipped, reason
		} else if reason, ok := selfSkip(s); ok {
			res.Status, res.Reason = skipped, reason
		} else if plan, err := planScenario(s); err != nil {
			res.Status, res.Reason = failed, err.Error()
		} else {
			res.Status, res.Reason = r.run(plan)
		}
		results = append(results, res)
		if progress != nil {
			progress(res)
		}
	}
	return results
}

// selfSkip honours a scenario's own "skip": true.
func selfSkip(s *Scenario) (string, bool) {
	if s.Doc == nil {
		return "", false
	}
	raw, ok := s.Doc.Get("skip")
	if !ok || string(compact(raw)) != "true" {
		return "", false
	}
	reason := "the scenario marks itself skip: true"
	if r, ok := s.Doc.Get("skip_reason"); ok {
		if txt, err := asString(r); err == nil && txt != "" {
			reason += ": " + txt
		}
	}
	return reason, true
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func indent(s, pre string) string {
	return pre + strings.ReplaceAll(s, "\n", "\n"+pre)
}
