package topology

import "encoding/json"

// The state of the window manager's policies, as Storm's policies'
// getState and restoreState: what a persistent windowed bolt saves at each
// checkpoint (in its window system state, keys "es" and "ts") and restores
// after a restart, so that its windows trigger and evict as if it had not
// stopped. A policy with nothing to keep saves nil (Storm's null, as
// TimeTriggerPolicy's).

// Keys of the window system state (Storm's WindowManager
// EVICTION_STATE_KEY and TRIGGER_STATE_KEY).
const (
	evictionStateKey = "es"
	triggerStateKey  = "ts"
)

// savedContext is a saved eviction context (Storm's DefaultEvictionContext).
type savedContext struct {
	Ref          int64 `json:"referenceTime"`
	Slide        int64 `json:"slidingInterval,omitempty"`
	CurrentCount int64 `json:"currentCount"`
	SlidingCount int64 `json:"slidingCount,omitempty"`
}

func saveContext(c *evictionContext) any {
	if c == nil {
		return nil
	}
	return savedContext{c.ref, c.slide, c.currentCount, c.slidingCount}
}

func restoreContext(raw []byte) (*evictionContext, error) {
	var s savedContext
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	return &evictionContext{ref: s.Ref, slide: s.Slide, currentCount: s.CurrentCount, slidingCount: s.SlidingCount}, nil
}

// CountEvictionPolicy keeps its current count.
func (p *countEviction) saveState() any { return p.current }
func (p *countEviction) restoreState(raw []byte) error {
	return json.Unmarshal(raw, &p.current)
}

// TimeEvictionPolicy keeps its eviction context.
func (p *timeEviction) saveState() any { return saveContext(p.ctx) }
func (p *timeEviction) restoreState(raw []byte) (err error) {
	p.ctx, err = restoreContext(raw)
	return err
}

// WatermarkCountEvictionPolicy keeps its current and processed counts.
func (p *watermarkCountEviction) saveState() any { return [2]int64{p.current, p.processed} }
func (p *watermarkCountEviction) restoreState(raw []byte) error {
	var s [2]int64
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	p.current, p.processed = s[0], s[1]
	return nil
}

// CountTriggerPolicy keeps its current count.
func (p *countTrigger) saveState() any { return p.current }
func (p *countTrigger) restoreState(raw []byte) error {
	return json.Unmarshal(raw, &p.current)
}

// TimeTriggerPolicy keeps nothing.
func (p *timeTrigger) saveState() any            { return nil }
func (p *timeTrigger) restoreState([]byte) error { return nil }

// WatermarkTimeTriggerPolicy keeps the end of its next window.
func (p *watermarkTimeTrigger) saveState() any { return p.nextEnd }
func (p *watermarkTimeTrigger) restoreState(raw []byte) error {
	return json.Unmarshal(raw, &p.nextEnd)
}

// WatermarkCountTriggerPolicy keeps the timestamp it last processed.
func (p *watermarkCountTrigger) saveState() any { return p.lastProcessed }
func (p *watermarkCountTrigger) restoreState(raw []byte) error {
	return json.Unmarshal(raw, &p.lastProcessed)
}

// policyState is the part of a policy that can be saved and restored.
type policyState interface {
	saveState() any
	restoreState(raw []byte) error
}

// managerState is the window manager's state, by key (Storm's
// WindowManager.getState): the JSON of each policy's state, nil when the
// policy keeps nothing.
func (m *windowManager) managerState() (map[string][]byte, error) {
	out := map[string][]byte{}
	for key, p := range m.policies() {
		v := p.saveState()
		if v == nil {
			out[key] = nil
			continue
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		out[key] = raw
	}
	return out, nil
}

// restoreManagerState restores the policies from saved (Storm's
// WindowManager.restoreState): a key that is absent or nil is left alone.
func (m *windowManager) restoreManagerState(saved map[string][]byte) error {
	for key, p := range m.policies() {
		if raw := saved[key]; len(raw) > 0 {
			if err := p.restoreState(raw); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *windowManager) policies() map[string]policyState {
	return map[string]policyState{evictionStateKey: m.eviction, triggerStateKey: m.trigger}
}
