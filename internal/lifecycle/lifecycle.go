package lifecycle

// Tracker records users and the end of a transport. It has no lock of its
// own: every method must be called with the owner's mutex held, so that the
// owner can test and change its other state in the same critical section.
//
// The rule it enforces: the end is reported exactly once, by whichever of
// EndLocked and LeaveLocked first finds the transport ended with no users.
type Tracker struct {
	users    int
	ended    bool
	reason   error
	reported bool
}

// EnterLocked registers a user that may call the session. It reports false,
// registering nothing, once the transport has ended.
func (t *Tracker) EnterLocked() bool {
	if t.ended {
		return false
	}
	t.users++
	return true
}

// LeaveLocked unregisters a user. If report is true, the caller must now
// report the end, with reason, outside the lock.
func (t *Tracker) LeaveLocked() (report bool, reason error) {
	t.users--
	return t.claimLocked()
}

// EndLocked ends the transport for reason. first is false if it had already
// ended, and then nothing changes. If report is true, the caller must now
// report the end, with reason, outside the lock.
func (t *Tracker) EndLocked(reason error) (first, report bool) {
	if t.ended {
		return false, false
	}
	t.ended, t.reason = true, reason
	report, _ = t.claimLocked()
	return true, report
}

// EndedLocked returns why the transport ended; ok is false while it has not.
func (t *Tracker) EndedLocked() (reason error, ok bool) { return t.reason, t.ended }

func (t *Tracker) claimLocked() (bool, error) {
	if !t.ended || t.users > 0 || t.reported {
		return false, nil
	}
	t.reported = true
	return true, t.reason
}
