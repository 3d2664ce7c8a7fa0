package desk

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"hotline/call"
	"hotline/media"
	"hotline/recordings"
)

// Recorders starts call recordings; *recordings.Manager implements it.
type Recorders interface {
	Start(meta recordings.Meta) (*recordings.Recorder, error)
}

// callRecording is one call's recording: it starts when the first agent
// answers and runs until the caller hangs up, across hold (the music is
// recorded), transfers (every agent is added) and requeues (the queue's
// music), so it is one file per call.
type callRecording struct {
	rec    *recordings.Recorder
	mu     sync.Mutex
	paused bool
}

// recordingFor returns c's recording, starting it (and the goroutine that
// closes it when the call ends) on the first answer.
func (d *Desk) recordingFor(c *call.Call, sess *media.Session, agentID string) *callRecording {
	if d.cfg.Recorders == nil {
		return nil
	}
	d.mu.Lock()
	cr := d.recs[c.ID]
	d.mu.Unlock()
	if cr != nil {
		if err := cr.rec.AddAgent(agentID); err != nil {
			d.log.Warn("recording: add agent", "call", c.ID, "error", err)
		}
		return cr
	}
	rec, err := d.cfg.Recorders.Start(recordings.Meta{TenantID: c.TenantID, CallID: c.ID, AgentID: agentID, Started: time.Now()})
	if err != nil {
		d.log.Warn("recording did not start; the call goes on unrecorded", "call", c.ID, "error", err)
		return nil
	}
	cr = &callRecording{rec: rec}
	d.mu.Lock()
	d.recs[c.ID] = cr
	d.mu.Unlock()
	stopRec := sess.AddRecorder(rec)
	c.Event("recording", "", map[string]string{"state": "started"})
	d.recWG.Go(func() {
		<-c.Done()
		stopRec()
		info, err := rec.Close()
		if err != nil {
			d.log.Warn("recording: close", "call", c.ID, "error", err)
		}
		d.mu.Lock()
		delete(d.recs, c.ID)
		d.mu.Unlock()
		d.log.Info("recording closed", "call", c.ID, "duration", info.Duration)
	})
	return cr
}

// setPaused pauses or resumes the recording of t's call (PCI: card numbers
// are not recorded; the span is kept in the recording's metadata).
func (t *talk) setRecordingPaused(d *Desk, on bool) error {
	d.mu.Lock()
	cr := d.recs[t.callID]
	d.mu.Unlock()
	// What is not recorded is not transcribed either (card numbers).
	ac := d.assistOf(t.callID)
	if ac != nil {
		ac.SetPaused(on)
	}
	if cr == nil {
		if ac != nil {
			return nil // transcribed but not recorded: the transcript pauses
		}
		return errors.New("record: this call is not being recorded")
	}
	cr.mu.Lock()
	defer cr.mu.Unlock()
	if cr.paused == on {
		return nil
	}
	now := time.Now()
	var err error
	if on {
		err = cr.rec.Pause(now)
	} else {
		err = cr.rec.Resume(now)
	}
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	cr.paused = on
	state := "resumed"
	if on {
		state = "paused"
	}
	t.call.Event("recording", "", map[string]string{"state": state})
	return nil
}
