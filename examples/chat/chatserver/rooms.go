package chatserver

import (
	"cmp"
	"slices"
)

// historySize is how many recent messages a room keeps for newcomers.
const historySize = 50

// fixedRooms lists the rooms that always exist, in the order the page
// shows them. Other rooms exist while someone is in them.
func fixedRooms() []string { return []string{"general", "random"} }

// member is a socket that has joined a room under a nickname.
type member struct {
	id   string // socket id
	nick string
	room string
}

// room is a chat room: its members and its recent messages.
type room struct {
	name    string
	fixed   bool
	members map[string]*member // by socket id
	history []message          // oldest first, at most historySize
}

func newRoom(name string, fixed bool) *room {
	return &room{name: name, fixed: fixed, members: make(map[string]*member)}
}

// person is a room member as clients see it.
type person struct {
	ID   string `json:"id"`
	Nick string `json:"nick"`
}

// people returns the room's members sorted by nickname, then id.
func (r *room) people() []person {
	out := make([]person, 0, len(r.members))
	for _, m := range r.members {
		out = append(out, person{ID: m.id, Nick: m.nick})
	}
	slices.SortFunc(out, func(a, b person) int {
		return cmp.Or(cmp.Compare(a.Nick, b.Nick), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// presence tells a room's members who is in it, and who just joined or
// left, if anyone.
type presence struct {
	Room    string   `json:"room"`
	Members []person `json:"members"`
	Joined  *person  `json:"joined,omitempty"`
	Left    *person  `json:"left,omitempty"`
}

// roomInfo is an entry of the room list.
type roomInfo struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// roomListLocked returns every room with its member count: the fixed rooms
// first, then the others by name.
func (s *Server) roomListLocked() []roomInfo {
	fixed := fixedRooms()
	out := make([]roomInfo, 0, len(s.rooms))
	for _, name := range fixed {
		out = append(out, roomInfo{Name: name, Count: len(s.rooms[name].members)})
	}
	var others []roomInfo
	for name, r := range s.rooms {
		if !r.fixed {
			others = append(others, roomInfo{Name: name, Count: len(r.members)})
		}
	}
	slices.SortFunc(others, func(a, b roomInfo) int { return cmp.Compare(a.Name, b.Name) })
	return append(out, others...)
}

// announceLocked sends a room's presence to its members, and the room list
// to every client. Both describe this server's members only, so they go to
// this server's clients only (Local): with an adapter shared by several
// servers, another server's list would replace this one's.
func (s *Server) announceLocked(r *room, joined, left *person) {
	local := s.ferry.Of("/").Local()
	if err := local.To(r.name).Emit("presence", presence{Room: r.name, Members: r.people(), Joined: joined, Left: left}); err != nil {
		s.log.Warn("sending presence", "room", r.name, "err", err)
	}
	if err := local.Emit("rooms", s.roomListLocked()); err != nil {
		s.log.Warn("sending the room list", "err", err)
	}
}
