package session

import "sync"

// registry maps sids to sessions. A session is added after its handshake
// and removed the moment it closes (or, for a session flushing its last
// packets, once they are written).
type registry struct {
	mu       sync.RWMutex
	sessions map[string]*Session // guarded by mu
	closed   bool                // guarded by mu: the engine closed; add refuses
}

// add registers s, or reports false if the registry is closed.
func (r *registry) add(s *Session) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	if r.sessions == nil {
		r.sessions = make(map[string]*Session)
	}
	r.sessions[s.id] = s
	return true
}

// close refuses further sessions and returns a snapshot of those held, so
// that a handshake racing with Engine.Close either fails to register or is
// in the snapshot.
func (r *registry) close() []*Session {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	return r.all()
}

func (r *registry) get(id string) *Session {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.sessions[id]
}

func (r *registry) remove(s *Session) {
	r.mu.Lock()
	if r.sessions[s.id] == s {
		delete(r.sessions, s.id)
	}
	r.mu.Unlock()
}

func (r *registry) len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.sessions)
}

// all returns a snapshot of the sessions.
func (r *registry) all() []*Session {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*Session, 0, len(r.sessions))
	for _, s := range r.sessions {
		out = append(out, s)
	}
	return out
}
