package nimbus

import "context"

// CheckSubmitName runs the checks a submit makes of a topology's name
// alone (Storm's validateTopologyName, then check-storm-active!), so that
// a front door can refuse a submit before it unpacks code: an error
// wrapping api.ErrInvalid for a name Storm does not allow, api.ErrConflict
// for a name a live topology has. Submit checks again under its lock.
func (n *Nimbus) CheckSubmitName(ctx context.Context, name string) error {
	if err := ValidateTopologyName(name); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.checkNameFree(name)
}
